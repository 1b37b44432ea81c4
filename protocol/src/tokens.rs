//! `POST /v1/token`, `POST /v1/revoke`, `POST /v1/logout`, `POST /v1/logout-all`.

use serde::{Deserialize, Serialize};

/// The form parameters of `POST /v1/token` and `POST /v1/revoke`, each name written once
/// (`client_id` and `code` are those of the challenge endpoint).
pub mod param {
    pub use crate::signin::param::{CLIENT_ID, CODE};
    pub const GRANT_TYPE: &str = "grant_type";
    pub const CODE_VERIFIER: &str = "code_verifier";
    pub const REFRESH_TOKEN: &str = "refresh_token";
    /// `POST /v1/revoke`: the token to revoke.
    pub const TOKEN: &str = "token";
    pub const TOKEN_TYPE_HINT: &str = "token_type_hint";
    /// `grant_type=password`: the account's email address.
    pub const USERNAME: &str = "username";
    /// `grant_type=password`: an app password, or the account password with the security token
    /// appended.
    pub const PASSWORD: &str = "password";
}

/// The `grant_type` of `POST /v1/token`.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    /// For clients configured to allow it (`app_passwords`, `security_tokens`): an app password,
    /// or the account password with the API security token.
    Password,
}

impl GrantType {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::Password => "password",
        }
    }

    /// The grant type named `value` (`unsupported_grant_type` otherwise).
    pub fn parse(value: &str) -> Option<GrantType> {
        [
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
            GrantType::Password,
        ]
        .into_iter()
        .find(|g| g.as_str() == value)
    }
}

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
    /// The OpenID Connect ID token (ES256 JWT, `crate::oidc::IdTokenClaims`): when the sign-in
    /// asked for the `openid` scope, on the code exchange and on every refresh (without `nonce`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
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
    /// App passwords revoked (`?app_passwords=revoke`; otherwise 0).
    #[serde(default)]
    pub revoked_app_passwords: u64,
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
