//! Every endpoint path of docs/protocol.md. Path parameters are written as the server's router
//! names them (`{id}`); [`with_id`] fills one in for a client.

pub const DISCOVERY: &str = "/.well-known/openid-configuration";
pub const OPENAPI: &str = "/openapi.json";

pub const LOGIN_METHODS: &str = "/v1/login/methods";
pub const AUTHORIZE_CHALLENGE: &str = "/v1/authorize-challenge";
/// The browser's authorization endpoint (authorization code + PKCE S256; `idp` names an
/// upstream provider).
pub const AUTHORIZE: &str = "/v1/authorize";
/// Where an upstream provider sends the browser back (the server's own `redirect_uri` there).
pub const AUTHORIZE_CALLBACK: &str = "/v1/authorize/callback";
pub const TOKEN: &str = "/v1/token";
pub const REVOKE: &str = "/v1/revoke";
pub const LOGOUT: &str = "/v1/logout";
pub const LOGOUT_ALL: &str = "/v1/logout-all";
pub const USERINFO: &str = "/v1/userinfo";
/// The ID-token signing keys (JWK set).
pub const JWKS: &str = "/v1/jwks";
/// OpenID Connect RP-Initiated Logout (`GET` or `POST` form).
pub const END_SESSION: &str = "/v1/end-session";

pub const PASSWORD_FORGOT: &str = "/v1/password/forgot";
pub const PASSWORD_RESET: &str = "/v1/password/reset";

pub const SIGN_INS: &str = "/v1/me/sign-ins";
pub const SECURITY_EVENTS: &str = "/v1/me/security-events";
pub const PASSWORD: &str = "/v1/me/password";
pub const TOTP: &str = "/v1/me/totp";
pub const TOTP_CONFIRM: &str = "/v1/me/totp/confirm";
pub const TOTP_CONFIRM_SUSPENDED: &str = "/v1/me/totp/confirm-suspended";
pub const BACKUP_CODES: &str = "/v1/me/backup-codes";
pub const AUTHENTICATORS: &str = "/v1/me/authenticators";
/// `{id}`: the enrollment id.
pub const AUTHENTICATOR: &str = "/v1/me/authenticators/{id}";
pub const SESSIONS: &str = "/v1/me/sessions";
/// `DELETE`: ends one of the user's own sessions.
pub const SESSION: &str = "/v1/me/sessions/{id}";
pub const DEVICES: &str = "/v1/me/devices";
/// App passwords for clients that cannot do a second factor.
pub const APP_PASSWORDS: &str = "/v1/me/app-passwords";
/// `{id}`: the app password's id.
pub const APP_PASSWORD: &str = "/v1/me/app-passwords/{id}";
/// "Reset My Security Token" (the token is emailed).
pub const SECURITY_TOKEN: &str = "/v1/me/security-token";
/// `{id}`: the device id.
pub const DEVICE: &str = "/v1/me/devices/{id}";
/// `{id}`: the device id.
pub const DEVICE_CONFIRM: &str = "/v1/me/devices/{id}/confirm";

/// The organisation admin API (Bearer, stepped up, a role that allows it).
pub const ADMIN_USERS: &str = "/v1/admin/users";

/// The device API (signed requests).
pub const DEVICE_ACTIVATE: &str = "/v1/devices/activate";
pub const DEVICE_CHALLENGES: &str = "/v1/devices/challenges";
/// The device's OS push token (FCM/APNs), replaced or cleared.
pub const DEVICE_PUSH_TOKEN: &str = "/v1/devices/push-token";
/// `{id}`: the push request id.
pub const DEVICE_CHALLENGE: &str = "/v1/devices/challenges/{id}";

/// The `--dev` outbox (absent without `--dev`).
pub const DEV_OUTBOX: &str = "/dev/outbox";

/// `path` with its `{id}` parameter replaced by `id`, percent-encoded (ids are
/// `A-Z a-z 0-9 - _`, which stay as they are; anything else cannot reach another path).
pub fn with_id(path: &str, id: &str) -> String {
    const ESCAPED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    path.replacen(
        "{id}",
        &percent_encoding::utf8_percent_encode(id, ESCAPED).to_string(),
        1,
    )
}

/// The query parameters of the long-polls (`GET /v1/me/authenticators/{id}`,
/// `GET /v1/devices/challenges`).
pub mod query {
    /// Seconds to wait for a change (at most 30).
    pub const WAIT: &str = "wait";
    /// The enrollment status the screen shows: the wait lasts while it is still this one.
    pub const STATUS: &str = "status";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_fill_the_parameter() {
        assert_eq!(
            with_id(DEVICE_CONFIRM, "dv_a"),
            "/v1/me/devices/dv_a/confirm"
        );
        assert_eq!(with_id(DEVICE_CHALLENGE, "42"), "/v1/devices/challenges/42");
        assert_eq!(with_id(DEVICE, "../x y"), "/v1/me/devices/..%2Fx%20y");
    }
}
