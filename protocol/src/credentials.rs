//! Credentials for clients that cannot run the sign-in (docs/protocol.md, "App passwords" and
//! "API security tokens"): app passwords (`/v1/me/app-passwords`), the security token
//! (`/v1/me/security-token`), and what `POST /v1/token` `grant_type=password` reads.

use serde::{Deserialize, Serialize};

/// The header an API client may send its security token in, beside `grant_type=password` with
/// the account password alone (instead of the token appended to it).
pub const SECURITY_TOKEN_HEADER: &str = "Authcore-Security-Token";

/// Characters of a security token (`A-Z a-z 0-9`).
pub const SECURITY_TOKEN_LENGTH: usize = 24;

/// `POST /v1/me/app-passwords` body: the app it is for ("Thunderbird on my laptop").
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewAppPassword {
    pub name: String,
}

/// `201` of `POST /v1/me/app-passwords`: the only answer that ever carries the password (16
/// lower-case letters in groups of four, `abcd efgh ijkl mnop`).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppPasswordCreated {
    pub id: String,
    pub name: String,
    pub password: String,
    pub created_at: u64,
}

/// `GET /v1/me/app-passwords`: the app passwords not revoked, oldest first; never a password.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppPasswords {
    pub app_passwords: Vec<AppPassword>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppPassword {
    pub id: String,
    pub name: String,
    pub created_at: u64,
    /// Null until a client signed in with it.
    pub last_used_at: Option<u64>,
}

/// `202` of `POST /v1/me/security-token`: the new token went to the account's email address
/// (never in an answer); the previous one no longer works.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecurityTokenSent {
    /// `a***@acme.example`.
    pub destination_hint: String,
}

/// The query of `POST /v1/logout-all`: `?app_passwords=revoke` also revokes every app password.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogoutAllQuery {
    #[serde(default)]
    pub app_passwords: AppPasswordsOnLogout,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AppPasswordsOnLogout {
    /// The default: app passwords keep working.
    #[default]
    Keep,
    Revoke,
}

crate::redacted_debug!(AppPasswordCreated);
