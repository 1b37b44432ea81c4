//! The route table: every path the server serves and its handlers.

use authcore_protocol::paths;
use axum::routing::{delete, get, post, MethodRouter};

use crate::{account, admin, devices, oidc, openapi, outbox, security, signin, tokens, AppState};

/// Every route: its path (a constant of `authcore_protocol::paths`) and its handlers; the `--dev`
/// outbox only with `dev`. `/openapi.json` documents exactly these (a test holds it to them).
pub(crate) fn routes(dev: bool) -> Vec<(&'static str, MethodRouter<AppState>)> {
    let mut routes = vec![
        (paths::DISCOVERY, get(crate::discovery)),
        (paths::OPENAPI, get(openapi::document)),
        (paths::LOGIN_METHODS, post(signin::login_methods)),
        (
            paths::AUTHORIZE_CHALLENGE,
            post(signin::authorize_challenge),
        ),
        (paths::AUTHORIZE, get(oidc::authorize)),
        (paths::AUTHORIZE_CALLBACK, get(oidc::callback)),
        (paths::TOKEN, post(tokens::token)),
        (paths::REVOKE, post(tokens::revoke)),
        (paths::LOGOUT, post(tokens::logout)),
        (paths::LOGOUT_ALL, post(tokens::logout_all)),
        (paths::USERINFO, get(oidc::userinfo)),
        (paths::JWKS, get(oidc::jwks)),
        (
            paths::END_SESSION,
            get(oidc::end_session_get).post(oidc::end_session_post),
        ),
        (paths::SIGN_INS, get(account::sign_ins)),
        (paths::SESSIONS, get(account::list_sessions)),
        (paths::SESSION, delete(account::end_session)),
        (paths::SECURITY_EVENTS, get(security::security_events)),
        (
            paths::TOTP,
            post(account::start_totp).delete(account::remove_totp),
        ),
        (paths::PASSWORD, post(account::change_password)),
        (paths::TOTP_CONFIRM, post(account::confirm_totp)),
        (paths::BACKUP_CODES, post(account::new_backup_codes)),
        (paths::PASSWORD_FORGOT, post(account::forgot_password)),
        (paths::PASSWORD_RESET, post(account::reset_password)),
        (paths::AUTHENTICATORS, post(devices::new_authenticator)),
        (paths::AUTHENTICATOR, get(devices::authenticator_status)),
        (paths::DEVICES, get(devices::list_devices)),
        (
            paths::DEVICE,
            get(devices::get_device)
                .patch(devices::patch_device)
                .delete(devices::delete_device),
        ),
        (paths::DEVICE_CONFIRM, post(devices::confirm_device)),
        (
            paths::APP_PASSWORDS,
            get(account::list_app_passwords).post(account::create_app_password),
        ),
        (paths::APP_PASSWORD, delete(account::revoke_app_password)),
        (paths::SECURITY_TOKEN, post(account::reset_security_token)),
        (paths::ADMIN_USERS, get(admin::list_users)),
        (
            paths::TOTP_CONFIRM_SUSPENDED,
            post(account::confirm_suspended_totp),
        ),
        (paths::DEVICE_ACTIVATE, post(devices::activate)),
        (paths::DEVICE_CHALLENGES, get(devices::challenges)),
        (paths::DEVICE_CHALLENGE, post(devices::decide)),
        (paths::DEVICE_PUSH_TOKEN, post(devices::update_push_token)),
    ];
    if dev {
        routes.push((paths::DEV_OUTBOX, get(outbox::dev_outbox)));
    }
    routes
}
