//! Authenticator devices: enrollment (`/v1/me/authenticators`), activation with proof of
//! possession, the signed device API (challenges long-poll and decisions) and the user's device
//! list. The canonical messages and signature checks are `authcore::device_protocol`.
//!
//! `enroll` starts an enrollment and reports where it stands, `activation` registers the phone's
//! key, `channel` reads and verifies a signed device request, `approvals` lists and answers push
//! requests, and `manage` is the user's own list of devices.

use crate::error::{ApiError, ApiResult};
use crate::extract::Bearer;
use crate::store::User;
use crate::tokens::session_of;
use crate::AppState;

mod activation;
mod approvals;
mod channel;
mod enroll;
mod manage;

pub use activation::activate;
pub use approvals::{challenges, decide, update_push_token};
pub use enroll::{authenticator_status, new_authenticator};
pub(crate) use enroll::{start_enrollment, wait_for_enrollment, EnrollmentState};
pub use manage::{confirm_device, delete_device, get_device, list_devices, patch_device};

async fn bearer_user(app: &AppState, bearer: &Bearer) -> ApiResult<User> {
    let session = session_of(app, bearer).await?;
    app.store
        .user(session.user_id)
        .await?
        .ok_or_else(ApiError::invalid_token)
}

/// An OS push token as sent: empty means none; at most 4096 characters.
fn push_token_of(token: Option<String>) -> ApiResult<Option<String>> {
    let token = token.filter(|t| !t.is_empty());
    if token.as_ref().is_some_and(|t| t.len() > 4096) {
        return Err(ApiError::invalid_request(
            "push_token must be at most 4096 characters",
        ));
    }
    Ok(token)
}

/// The answer to a device whose app predates number matching (no or an old
/// `Authcore-Protocol-Version`): it must be updated before it can see a sign-in request.
fn upgrade_required() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::UPGRADE_REQUIRED,
        authcore_protocol::ErrorCode::UpgradeRequired,
        "this app is too old to show sign-in numbers; update it to approve sign-ins",
    )
}

/// Whether `device` may answer passwordless (phone sign-in) pushes: registered with user
/// verification and, under `push.require_attestation`, with an attestation that verified.
pub(crate) fn passwordless(app: &AppState, user_verification: bool, attested: bool) -> bool {
    user_verification && (attested || !app.config.push.require_attestation)
}
