//! Starting an enrollment (`POST /v1/me/authenticators`: the QR and typed code a screen shows)
//! and where it stands (`GET /v1/me/authenticators/{id}`, long-polled), also for the enrollment
//! inside a sign-in.

use std::time::Duration;

use authcore::device_protocol::{ActivationCode, EnrollLink};
use authcore_protocol::devices::{
    Enrollment as EnrollmentView, EnrollmentStarted, EnrollmentStatus, TestApproval, WaitQuery,
};
use authcore_protocol::signin::EnrollmentCode;
use authcore_protocol::ErrorCode;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;

use super::bearer_user;
use crate::error::{ApiError, ApiResult};
use crate::extract::Bearer;
use crate::push::{self, wait_param, wait_until};
use crate::step_up::{stepped_up, SteppedUp};
use crate::store::{Enrollment, EnrollmentRefusal, NewEnrollment, PushRequest, User};
use crate::AppState;

/// The HMAC under which an activation code is stored and looked up.
pub(crate) fn activation_hash(app: &AppState, code: &ActivationCode) -> Vec<u8> {
    app.hasher.hash("activation", code.expose())
}

/// What the authenticator lists the account as: `Globex: carol@globex.example`.
pub(super) fn account_label(app: &AppState, user: &User) -> String {
    let issuer = user
        .email
        .split_once('@')
        .and_then(|(_, domain)| app.config.org_for_domain(domain))
        .map_or_else(|| app.config.totp.issuer.clone(), |o| o.name.clone());
    format!("{issuer}: {}", user.email)
}

/// Starts an enrollment: what a screen shows (QR, typed code).
pub(crate) async fn start_enrollment(
    app: &AppState,
    user: &User,
    auth_session_id: Option<i64>,
) -> ApiResult<EnrollmentStarted> {
    let now = app.clock.now();
    let code = ActivationCode::generate();
    let expires_at = now + app.config.push.activation_ttl_s;
    let created = app
        .store
        .create_enrollment_capped(
            NewEnrollment {
                user_id: user.id,
                code_hash: activation_hash(app, &code),
                auth_session_id,
                now,
                expires_at,
            },
            app.config.security.max_pending_enrollments,
        )
        .await?;
    let id =
        match created {
            Ok(id) => id,
            Err(EnrollmentRefusal::Capped { retry_after }) => return Err(ApiError::limited(
                retry_after,
                "too many enrollments are waiting for a device; use one or wait until one expires",
                authcore_protocol::error::LimitOf::PendingEnrollments,
                app.config.security.max_pending_enrollments,
                app.config.push.activation_ttl_s,
            )),
        };
    let label = account_label(app, user);
    let link = EnrollLink {
        server_url: app.issuer.clone(),
        activation_code: code,
        label: Some(label.clone()),
    };
    Ok(EnrollmentStarted {
        enrollment_id: id.to_string(),
        code: EnrollmentCode {
            qr_payload: link.to_uri(),
            activation_code: link.activation_code.grouped(),
            server_url: app.issuer.clone(),
            label,
        },
        expires_at,
        status: EnrollmentStatus::WaitingForDevice,
    })
}

/// `POST /v1/me/authenticators` (Bearer)
pub async fn new_authenticator(
    State(app): State<AppState>,
    bearer: Bearer,
) -> ApiResult<impl IntoResponse> {
    let SteppedUp { user, .. } = stepped_up(&app, &bearer).await?;
    let started = start_enrollment(&app, &user, None).await?;
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(started),
    ))
}

/// Where an enrollment stands, for a screen.
pub(crate) enum EnrollmentState {
    WaitingForDevice,
    ApproveTest(Box<PushRequest>),
    Completed,
    Failed(&'static str),
    Expired,
}

pub(crate) async fn enrollment_state(
    app: &AppState,
    enrollment: &Enrollment,
) -> ApiResult<EnrollmentState> {
    let now = app.clock.now();
    if enrollment.completed_at.is_some() {
        return Ok(EnrollmentState::Completed);
    }
    let test = match enrollment.test_request_id {
        Some(id) => app.store.push_request(id).await?,
        None => None,
    };
    if enrollment.failed_at.is_some() || test.as_ref().is_some_and(|t| t.result.is_some()) {
        let reason = match test.as_ref().and_then(|t| t.result.as_deref()) {
            Some("number_mismatch") => "number_mismatch",
            Some("fraud") => "fraud_reported",
            Some(_) => "denied",
            None => "replaced",
        };
        return Ok(EnrollmentState::Failed(reason));
    }
    match test {
        Some(test) if test.expires_at <= now => Ok(EnrollmentState::Failed("expired")),
        Some(test) => Ok(EnrollmentState::ApproveTest(Box::new(test))),
        None if enrollment.expires_at <= now => Ok(EnrollmentState::Expired),
        None => Ok(EnrollmentState::WaitingForDevice),
    }
}

/// Waits (up to `wait`) while the enrollment is still in the state the screen shows: `known` is
/// `waiting_for_device` or `approve_test`. Any other state answers at once.
pub(crate) async fn wait_for_enrollment(
    app: &AppState,
    enrollment: Enrollment,
    wait: Duration,
    known: &str,
) -> ApiResult<(Enrollment, EnrollmentState)> {
    let mut enrollment = enrollment;
    let mut state = enrollment_state(app, &enrollment).await?;
    if wait.is_zero() {
        return Ok((enrollment, state));
    }
    if matches!(state, EnrollmentState::WaitingForDevice) && known == "waiting_for_device" {
        let id = enrollment.id;
        let wait = wait.min(Duration::from_secs(
            enrollment.expires_at.saturating_sub(app.clock.now()),
        ));
        enrollment = wait_until(
            app.hub.enrollment(id),
            wait,
            || async {
                app.store
                    .enrollment(id)
                    .await?
                    .ok_or_else(|| ApiError::invalid_request("no such enrollment"))
            },
            |e| e.used_at.is_some() || e.failed_at.is_some(),
        )
        .await?;
        state = enrollment_state(app, &enrollment).await?;
    } else if let (EnrollmentState::ApproveTest(test), "approve_test") = (&state, known) {
        let id = test.id;
        let wait = push::wait_for_request(app, test, wait);
        let _ = wait_until(
            app.hub.request(id),
            wait,
            || async { Ok(app.store.push_request(id).await?) },
            |r| r.as_ref().map_or(true, |r| r.result.is_some()),
        )
        .await?;
        if let Some(fresh) = app.store.enrollment(enrollment.id).await? {
            enrollment = fresh;
        }
        state = enrollment_state(app, &enrollment).await?;
    }
    Ok((enrollment, state))
}

/// `GET /v1/me/authenticators/{id}?wait=N` (Bearer)
pub async fn authenticator_status(
    State(app): State<AppState>,
    bearer: Bearer,
    Path(id): Path<String>,
    Query(query): Query<WaitQuery>,
) -> ApiResult<Json<EnrollmentView>> {
    let user = bearer_user(&app, &bearer).await?;
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "no such enrollment",
        )
    };
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let enrollment = app
        .store
        .enrollment(id)
        .await?
        .filter(|e| e.user_id == user.id)
        .ok_or_else(not_found)?;
    let wait = wait_param(&app, query.wait.as_deref())?;
    let known = query.status.as_deref().unwrap_or("waiting_for_device");
    let (enrollment, state) = wait_for_enrollment(&app, enrollment, wait, known).await?;
    let mut view = EnrollmentView {
        enrollment_id: enrollment.id.to_string(),
        expires_at: enrollment.expires_at,
        device_id: enrollment.device_id,
        status: EnrollmentStatus::WaitingForDevice,
        test: None,
        reason: None,
    };
    match state {
        EnrollmentState::WaitingForDevice => {}
        EnrollmentState::ApproveTest(test) => {
            view.status = EnrollmentStatus::ApproveTest;
            view.test = Some(TestApproval {
                request_id: test.id.to_string(),
                number: test.number,
                expires_at: test.expires_at,
            });
        }
        EnrollmentState::Completed => view.status = EnrollmentStatus::Completed,
        EnrollmentState::Failed(reason) => {
            view.status = EnrollmentStatus::Failed;
            view.reason = Some(reason.to_owned());
        }
        EnrollmentState::Expired => view.status = EnrollmentStatus::Expired,
    }
    Ok(Json(view))
}
