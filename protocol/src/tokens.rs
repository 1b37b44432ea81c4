//! `POST /v1/token`, `POST /v1/revoke`, `POST /v1/logout`, `POST /v1/logout-all`.

use serde::{Deserialize, Serialize};

/// The token answer (authorization code and refresh grants alike).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tokens {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    pub expires_in: u64,
    pub refresh_token: String,
    pub refresh_token_expires_in: u64,
    pub session_id: String,
    /// Only when the sign-in came from an unrecognised device: keep it and send it with the
    /// next sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
}

/// `200 {}` of `/v1/revoke`.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Revoked {}

/// `POST /v1/logout`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoggedOut {
    pub revoked_sessions: u64,
}

/// `POST /v1/logout-all`: the sessions ended and the devices of the review window, so the app
/// can offer "remove these".
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoggedOutEverywhere {
    pub revoked_sessions: u64,
    pub recent_devices: Vec<RecentDevice>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecentDevice {
    pub device_id: String,
    pub display_name: String,
    pub created_at: u64,
}

crate::redacted_debug!(Tokens);
