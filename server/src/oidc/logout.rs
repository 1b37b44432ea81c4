//! `GET`/`POST /v1/end-session`: OpenID Connect RP-Initiated Logout 1.0. The server keeps no
//! browser session, so `id_token_hint` is required: it names the session (`sid`) to end. An
//! expired hint is accepted (section 2: the token may have expired since). Afterwards the
//! browser goes to `post_logout_redirect_uri` (one of the client's registered ones, exactly,
//! with `state`) or sees a plain page.

use authcore_protocol::oidc::end_session::{
    CLIENT_ID, ID_TOKEN_HINT, POST_LOGOUT_REDIRECT_URI, STATE,
};
use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use crate::error::{ApiError, ApiResult};
use crate::extract::Params;
use crate::AppState;

/// `GET /v1/end-session?…`
pub async fn end_session_get(
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let params = Params::parse(query.unwrap_or_default().as_bytes())?;
    end_session(&app, &params).await
}

/// `POST /v1/end-session` (form).
pub async fn end_session_post(State(app): State<AppState>, params: Params) -> ApiResult<Response> {
    end_session(&app, &params).await
}

fn refused(why: impl std::fmt::Display) -> ApiError {
    ApiError::invalid_request(format!("id_token_hint is refused: {why}"))
}

async fn end_session(app: &AppState, params: &Params) -> ApiResult<Response> {
    let hint = params.get(ID_TOKEN_HINT).ok_or_else(|| {
        ApiError::invalid_request(
            "`id_token_hint` is required: it names the session to end (this server keeps no browser session)",
        )
    })?;
    let claims = app.id_keys.verify(hint).map_err(refused)?;
    if claims.iss != app.issuer {
        return Err(refused("it was issued by another provider"));
    }
    if params.get(CLIENT_ID).is_some_and(|c| c != claims.aud) {
        return Err(ApiError::invalid_request(
            "client_id is not the audience of the id_token_hint",
        ));
    }
    let client = app
        .config
        .client(&claims.aud)
        .ok_or_else(|| refused("its client is not registered"))?;
    let redirect = params.get(POST_LOGOUT_REDIRECT_URI);
    if redirect.is_some_and(|uri| !client.post_logout_redirect_uris.iter().any(|r| r == uri)) {
        return Err(ApiError::invalid_request(
            "post_logout_redirect_uri is not registered for this client",
        ));
    }
    let session_id: i64 = claims
        .sid
        .parse()
        .map_err(|_| refused("its sid is not a session of this server"))?;
    // Signed by us, so the session is the token's; ending it twice is harmless.
    app.store
        .revoke_session(session_id, app.clock.now())
        .await?;
    Ok(match redirect {
        Some(uri) => {
            let mut location = uri.to_owned();
            if let Some(state) = params.get(STATE) {
                location.push(if uri.contains('?') { '&' } else { '?' });
                location.push_str(
                    &form_urlencoded::Serializer::new(String::new())
                        .append_pair(STATE, state)
                        .finish(),
                );
            }
            (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
        }
        None => Html(SIGNED_OUT).into_response(),
    })
}

const SIGNED_OUT: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Signed out</title></head><body><h1>You are signed out</h1>\
<p>You can close this window.</p></body></html>\n";
