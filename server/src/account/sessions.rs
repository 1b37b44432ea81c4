//! The user's active sessions: `GET /v1/me/sessions` lists them (the "active sessions" of the
//! account page, next to "log out everywhere"), `DELETE /v1/me/sessions/{id}` ends one.

use authcore_protocol::account::{ActiveSession, ActiveSessions};
use authcore_protocol::error::ErrorCode;
use authcore_protocol::tokens::LoggedOut;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

use crate::error::{ApiError, ApiResult};
use crate::extract::Bearer;
use crate::tokens::session_of;
use crate::AppState;

fn no_such_session() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "no active session of yours has this id",
    )
}

/// `GET /v1/me/sessions` (Bearer): the sessions not ended, newest first.
pub async fn list_sessions(
    State(app): State<AppState>,
    bearer: Bearer,
) -> ApiResult<Json<ActiveSessions>> {
    let current = session_of(&app, &bearer).await?;
    let lifetime = app.config.session.max_lifetime_s;
    let created_after = app.clock.now().saturating_sub(lifetime);
    let sessions = app
        .store
        .active_sessions(current.user_id, created_after)
        .await?
        .into_iter()
        .map(|s| ActiveSession {
            id: s.id.to_string(),
            client_name: app
                .config
                .client(&s.client_id)
                .map_or_else(|| s.client_id.clone(), |c| c.name.clone()),
            client_id: s.client_id,
            method: s.method,
            factors: s.factors,
            ip: s.ip,
            user_agent: crate::push::describe_user_agent(&s.user_agent),
            created_at: s.created_at,
            expires_at: s.created_at.saturating_add(lifetime),
            current: s.id == current.id,
        })
        .collect();
    Ok(Json(ActiveSessions { sessions }))
}

/// `DELETE /v1/me/sessions/{id}` (Bearer): ends that session (its access and refresh tokens stop
/// working at once). The current session may end itself this way too.
pub async fn end_session(
    State(app): State<AppState>,
    bearer: Bearer,
    Path(id): Path<String>,
) -> ApiResult<Json<LoggedOut>> {
    let current = session_of(&app, &bearer).await?;
    let id: i64 = id.parse().map_err(|_| no_such_session())?;
    if !app
        .store
        .revoke_user_session(current.user_id, id, app.clock.now())
        .await?
    {
        return Err(no_such_session());
    }
    Ok(Json(LoggedOut {
        revoked_sessions: 1,
    }))
}
