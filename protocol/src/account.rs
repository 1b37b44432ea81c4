//! The signed-in user's endpoints (Bearer): userinfo, sign-in history, security events, TOTP,
//! backup codes, the password change, and password recovery (no token).

use serde::{Deserialize, Serialize};

/// `GET /v1/userinfo`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserInfo {
    pub sub: String,
    pub email: String,
    pub email_verified: bool,
    pub name: String,
    /// Null when the user has no phone number.
    pub phone_number: Option<String>,
}

/// `GET /v1/me/sign-ins`: newest first, at most 100.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignIns {
    pub sign_ins: Vec<SignInEntry>,
}

/// One entry of the history. `kind` is `sign_in`, `identity_verification`, `enrollment`,
/// `password_change` or `security_event` (then `event` and `detail` are present).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
/// A client reads an entry without the sign-in fields (a security event may have none) as
/// empty ones.
pub struct SignInEntry {
    pub at: u64,
    pub kind: String,
    #[serde(default)]
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default)]
    pub factors: Vec<String>,
    #[serde(default)]
    pub ip: String,
    #[serde(default)]
    pub user_agent: String,
    #[serde(default)]
    pub result: String,
}

/// `GET /v1/me/security-events`: newest first, at most 100.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecurityEvents {
    pub events: Vec<SecurityEvent>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecurityEvent {
    pub at: u64,
    pub kind: String,
    /// What changed, in words. A client reads `null` as empty and any other value as its JSON
    /// text.
    #[serde(default, deserialize_with = "text_or_null")]
    pub detail: String,
    #[serde(default)]
    pub ip: String,
    #[serde(default)]
    pub user_agent: String,
}

fn text_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(text) => text,
        other => other.to_string(),
    })
}

/// `POST /v1/me/totp`: a pending credential, active once confirmed.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpEnrollment {
    pub otpauth_uri: String,
    pub secret: String,
    pub digits: u32,
    pub period: u64,
    pub algorithm: String,
    pub confirmed: bool,
}

/// `POST /v1/me/totp/confirm` body.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CodeRequest {
    pub code: String,
}

/// `{"confirmed": true}`: `/v1/me/totp/confirm`, `/v1/me/totp/confirm-suspended`.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Confirmed {
    pub confirmed: bool,
}

/// `{"removed": true}`: `DELETE /v1/me/totp`, `DELETE /v1/me/devices/{id}`.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Removed {
    pub removed: bool,
}

/// `POST /v1/me/backup-codes`: shown once.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BackupCodes {
    pub codes: Vec<String>,
}

/// The `status` of the password answers.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PasswordStatus {
    PasswordChanged,
    SentIfAccountExists,
}

/// `POST /v1/me/password` body.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

/// `POST /v1/password/forgot` body.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ForgotPasswordRequest {
    pub identifier: String,
}

/// `POST /v1/password/reset` body.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResetPasswordRequest {
    pub identifier: String,
    pub code: String,
    pub new_password: String,
}

/// `POST /v1/me/password`: every other session of the user ended.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordChanged {
    pub status: PasswordStatus,
    pub revoked_sessions: u64,
}

/// `202` of `/v1/password/forgot`: the same whether or not the account exists.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResetCodeSent {
    pub status: PasswordStatus,
    pub destination_hint: String,
    pub length: u32,
    pub expires_at: u64,
}

/// `200` of `/v1/password/reset`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordReset {
    pub status: PasswordStatus,
    pub sessions_revoked: bool,
}

crate::redacted_debug!(
    TotpEnrollment,
    CodeRequest,
    BackupCodes,
    ChangePasswordRequest,
    ResetPasswordRequest
);

/// `GET /v1/me/sessions`: the user's active sessions, newest first.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActiveSessions {
    pub sessions: Vec<ActiveSession>,
}

/// One active session: where it signed in, with what, and until when it can last.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActiveSession {
    /// The id `DELETE /v1/me/sessions/{id}` takes (also the ID token's `sid`).
    pub id: String,
    pub client_id: String,
    /// The client's display name from the server's configuration.
    pub client_name: String,
    /// The first factor (`password`, `email_code`, …) and every factor of the sign-in.
    pub method: String,
    pub factors: Vec<String>,
    pub ip: String,
    /// Short form ("Chrome on macOS", "AcmeApp/1.0"); empty when the client sent none.
    pub user_agent: String,
    pub created_at: u64,
    /// The end of its lifetime (`session.max_lifetime_s` after the sign-in).
    pub expires_at: u64,
    /// The session of the access token that asked.
    pub current: bool,
}
