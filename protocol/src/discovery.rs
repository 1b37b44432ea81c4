//! `GET /.well-known/openid-configuration`.

use serde::{Deserialize, Serialize};

use crate::{oidc, paths};

/// The discovery document (OpenID Connect Discovery 1.0, RFC 8414): every endpoint as an
/// absolute URL under the issuer, then what the provider supports. Native apps sign in at
/// `authorization_challenge_endpoint`; browsers (and upstream providers) at
/// `authorization_endpoint` (docs/protocol.md, "Discovery").
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub revocation_endpoint: String,
    pub userinfo_endpoint: String,
    pub login_methods_endpoint: String,
    pub authorization_challenge_endpoint: String,
    /// OpenID Connect RP-Initiated Logout (`id_token_hint`).
    pub end_session_endpoint: String,
    /// `POST /v1/logout` with the session's access token (the native apps' sign-out).
    pub logout_endpoint: String,
    pub logout_all_endpoint: String,
    pub jwks_uri: String,
    pub sign_in_history_endpoint: String,
    pub security_events_endpoint: String,
    pub password_change_endpoint: String,
    pub password_forgot_endpoint: String,
    pub password_reset_endpoint: String,
    pub totp_enrollment_endpoint: String,
    pub backup_codes_endpoint: String,
    pub authenticator_enrollment_endpoint: String,
    pub devices_endpoint: String,
    pub device_activation_endpoint: String,
    pub device_challenges_endpoint: String,
    pub openapi_url: String,
    pub grant_types_supported: Vec<String>,
    pub code_challenge_methods_supported: Vec<String>,
    pub acr_values_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub response_types_supported: Vec<String>,
    pub scopes_supported: Vec<String>,
    pub claims_supported: Vec<String>,
    pub subject_types_supported: Vec<String>,
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// RFC 9207: every redirect of `authorization_endpoint` carries `iss`.
    pub authorization_response_iss_parameter_supported: bool,
}

impl Discovery {
    /// The document of a server whose issuer (base URL, no trailing slash) is `issuer`.
    pub fn for_issuer(issuer: &str) -> Self {
        let url = |path: &str| format!("{issuer}{path}");
        let list = |values: &[&str]| values.iter().map(|v| (*v).to_owned()).collect();
        Discovery {
            issuer: issuer.to_owned(),
            authorization_endpoint: url(paths::AUTHORIZE),
            token_endpoint: url(paths::TOKEN),
            revocation_endpoint: url(paths::REVOKE),
            userinfo_endpoint: url(paths::USERINFO),
            login_methods_endpoint: url(paths::LOGIN_METHODS),
            authorization_challenge_endpoint: url(paths::AUTHORIZE_CHALLENGE),
            end_session_endpoint: url(paths::END_SESSION),
            logout_endpoint: url(paths::LOGOUT),
            jwks_uri: url(paths::JWKS),
            logout_all_endpoint: url(paths::LOGOUT_ALL),
            sign_in_history_endpoint: url(paths::SIGN_INS),
            security_events_endpoint: url(paths::SECURITY_EVENTS),
            password_change_endpoint: url(paths::PASSWORD),
            password_forgot_endpoint: url(paths::PASSWORD_FORGOT),
            password_reset_endpoint: url(paths::PASSWORD_RESET),
            totp_enrollment_endpoint: url(paths::TOTP),
            backup_codes_endpoint: url(paths::BACKUP_CODES),
            authenticator_enrollment_endpoint: url(paths::AUTHENTICATORS),
            devices_endpoint: url(paths::DEVICES),
            device_activation_endpoint: url(paths::DEVICE_ACTIVATE),
            device_challenges_endpoint: url(paths::DEVICE_CHALLENGES),
            openapi_url: url(paths::OPENAPI),
            grant_types_supported: list(&["authorization_code", "refresh_token"]),
            code_challenge_methods_supported: list(&["S256"]),
            acr_values_supported: list(&["mfa"]),
            token_endpoint_auth_methods_supported: list(&["none"]),
            response_types_supported: list(&["code"]),
            scopes_supported: list(&oidc::scope::SUPPORTED),
            claims_supported: list(&oidc::CLAIMS_SUPPORTED),
            subject_types_supported: list(&["public"]),
            id_token_signing_alg_values_supported: list(&[oidc::ID_TOKEN_ALG]),
            authorization_response_iss_parameter_supported: true,
        }
    }
}
