//! `GET /.well-known/openid-configuration`.

use serde::{Deserialize, Serialize};

use crate::paths;

/// The discovery document: every endpoint as an absolute URL under the issuer.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Discovery {
    pub issuer: String,
    pub token_endpoint: String,
    pub revocation_endpoint: String,
    pub userinfo_endpoint: String,
    pub login_methods_endpoint: String,
    pub authorization_challenge_endpoint: String,
    pub end_session_endpoint: String,
    pub logout_all_endpoint: String,
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
}

impl Discovery {
    /// The document of a server whose issuer (base URL, no trailing slash) is `issuer`.
    pub fn for_issuer(issuer: &str) -> Self {
        let url = |path: &str| format!("{issuer}{path}");
        let list = |values: &[&str]| values.iter().map(|v| (*v).to_owned()).collect();
        Discovery {
            issuer: issuer.to_owned(),
            token_endpoint: url(paths::TOKEN),
            revocation_endpoint: url(paths::REVOKE),
            userinfo_endpoint: url(paths::USERINFO),
            login_methods_endpoint: url(paths::LOGIN_METHODS),
            authorization_challenge_endpoint: url(paths::AUTHORIZE_CHALLENGE),
            end_session_endpoint: url(paths::LOGOUT),
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
        }
    }
}
