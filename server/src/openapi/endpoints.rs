//! The table of `/openapi.json`: every route's method, path, summary, authentication,
//! parameters, body, answer and refusals, named with the protocol crate's paths and types.

use authcore_protocol::account::{
    ActiveSessions, BackupCodes, ChangePasswordRequest, CodeRequest, Confirmed,
    ForgotPasswordRequest, PasswordChanged, PasswordReset, Removed, ResetCodeSent,
    ResetPasswordRequest, SecurityEvents, SignIns, TotpEnrollment,
};
use authcore_protocol::admin::OrgUsers;
use authcore_protocol::credentials::{
    AppPasswordCreated, AppPasswords, NewAppPassword, SecurityTokenSent,
};
use authcore_protocol::delivery::DevOutbox;
use authcore_protocol::devices::{
    ActivateRequest, Activated, Challenges, DecisionAnswer, DecisionRequest, DevicePatch,
    DeviceView, Devices, Enrollment, EnrollmentStarted, PushTokenUpdate, PushTokenUpdated,
};
use authcore_protocol::discovery::Discovery;
use authcore_protocol::oidc::{self, JwkSet, UserInfoClaims};
use authcore_protocol::paths::query;
use authcore_protocol::signin::{self, AuthorizationCode, LoginMethods, LoginMethodsRequest};
use authcore_protocol::tokens::{self, LoggedOut, LoggedOutEverywhere, Revoked, Tokens};
use authcore_protocol::{paths, ErrorCode};
use utoipa::openapi::path::HttpMethod;

use super::{wire, Auth, Body, Endpoint, Field};

fn get(path: &'static str, summary: &'static str) -> Endpoint {
    Endpoint::new(HttpMethod::Get, path, summary)
}

fn post(path: &'static str, summary: &'static str) -> Endpoint {
    Endpoint::new(HttpMethod::Post, path, summary)
}

fn patch(path: &'static str, summary: &'static str) -> Endpoint {
    Endpoint::new(HttpMethod::Patch, path, summary)
}

fn delete(path: &'static str, summary: &'static str) -> Endpoint {
    Endpoint::new(HttpMethod::Delete, path, summary)
}

const ENROLLMENT_ID: &[(&str, &str)] = &[("id", "The enrollment id (`enrollment_id`).")];
const DEVICE_ID: &[(&str, &str)] = &[("id", "The device id (`device_id`).")];
const APP_PASSWORD_ID: &[(&str, &str)] = &[("id", "The app password's id.")];
const SESSION_ID: &[(&str, &str)] = &[("id", "The session's id (`GET /v1/me/sessions`).")];
const REQUEST_ID: &[(&str, &str)] = &[("id", "The push request id (`request_id`).")];
const WAIT: (&str, &str) = (
    query::WAIT,
    "Seconds to long-poll (up to the server's `push.max_wait_s`).",
);

/// The body of `/v1/authorize-challenge`: the first request starts a sign-in, later ones carry
/// `auth_session` and at most one credential.
#[rustfmt::skip]
const AUTHORIZE_CHALLENGE: &[Field] = &[
    (signin::param::CLIENT_ID, true, "The registered client."),
    (signin::param::IDENTIFIER, false, "First request: the email address or +E.164 phone number."),
    (signin::param::CODE_CHALLENGE, false, "First request: the PKCE S256 challenge (43 base64url characters)."),
    (signin::param::CODE_CHALLENGE_METHOD, false, "First request: `S256`."),
    (signin::param::ACR_VALUES, false, "First request: `mfa` for a step-up sign-in."),
    (signin::param::DEVICE_TOKEN, false, "First request: the device token of an earlier sign-in."),
    (signin::param::SCOPE, false, "First request: scopes (openid profile email phone); `openid` adds an ID token. Absent: profile email phone."),
    (signin::param::NONCE, false, "First request: the OpenID Connect nonce, returned in the ID token."),
    (signin::param::AUTH_SESSION, false, "Later requests: the sign-in to continue."),
    (signin::param::METHOD, false, "A method or second factor to use (asking again resends a code)."),
    (signin::param::PASSWORD, false, "The password."),
    (signin::param::CODE, false, "An emailed, texted, TOTP or backup code."),
    (signin::param::WAIT, false, "While a push is pending: seconds to long-poll."),
];

#[rustfmt::skip]
const TOKEN: &[Field] = &[
    (tokens::param::GRANT_TYPE, true, "`authorization_code`, `refresh_token` or `password` (clients with `app_passwords` / `security_tokens` only)."),
    (tokens::param::CLIENT_ID, true, "The registered client."),
    (tokens::param::CODE, false, "`authorization_code`: the code `/v1/authorize-challenge` or the `/v1/authorize` redirect answered."),
    (tokens::param::CODE_VERIFIER, false, "`authorization_code`: the PKCE verifier."),
    (oidc::authorize::REDIRECT_URI, false, "`authorization_code` from `/v1/authorize`: the authorization request's redirect_uri, exactly."),
    (tokens::param::REFRESH_TOKEN, false, "`refresh_token`: the current refresh token (it rotates)."),
    (tokens::param::USERNAME, false, "`password`: the account's email address."),
    (tokens::param::PASSWORD, false, "`password`: an app password, or the account password with the 24-character security token appended (or the token alone in the `Authcore-Security-Token` header); never the account password alone."),
];

#[rustfmt::skip]
const REVOKE: &[Field] = &[
    (tokens::param::CLIENT_ID, true, "The registered client."),
    (tokens::param::TOKEN, true, "An access or refresh token."),
    (tokens::param::TOKEN_TYPE_HINT, false, "`access_token` or `refresh_token`; not needed, either kind is found."),
];

#[rustfmt::skip]
const END_SESSION_QUERY: &[(&str, &str)] = &[
    (oidc::end_session::ID_TOKEN_HINT, "Required: an ID token this server issued (expired ones too); its `sid` is the session to end."),
    (oidc::end_session::CLIENT_ID, "The client; must be the hint's `aud`."),
    (oidc::end_session::POST_LOGOUT_REDIRECT_URI, "One of the client's post_logout_redirect_uris, exactly: answered with a 302 there."),
    (oidc::end_session::STATE, "Passed back on that redirect."),
];

/// The same parameters as a form.
#[rustfmt::skip]
const END_SESSION_FORM: &[Field] = &[
    (oidc::end_session::ID_TOKEN_HINT, true, "As in the GET query."),
    (oidc::end_session::CLIENT_ID, false, "As in the GET query."),
    (oidc::end_session::POST_LOGOUT_REDIRECT_URI, false, "As in the GET query."),
    (oidc::end_session::STATE, false, "As in the GET query."),
];

#[rustfmt::skip]
const AUTHORIZE_QUERY: &[(&str, &str)] = &[
    (oidc::authorize::RESPONSE_TYPE, "Required: `code`."),
    (oidc::authorize::CLIENT_ID, "Required: the registered client (unknown: a plain 400 page)."),
    (oidc::authorize::REDIRECT_URI, "Required: one of the client's redirect_uris exactly; a loopback http one with any port (unregistered: a plain 400 page)."),
    (oidc::authorize::SCOPE, "openid profile email phone (absent: openid)."),
    (oidc::authorize::STATE, "Passed back on the redirect."),
    (oidc::authorize::NONCE, "Put in the ID token."),
    (oidc::authorize::CODE_CHALLENGE, "Required: the PKCE S256 challenge (43 base64url characters)."),
    (oidc::authorize::CODE_CHALLENGE_METHOD, "Required: `S256`."),
    (oidc::authorize::LOGIN_HINT, "The account's email: chooses the organisation; passed upstream."),
    (oidc::authorize::PROMPT, "none, login, consent or select_account: passed upstream."),
    (oidc::authorize::MAX_AGE, "Seconds: passed upstream."),
    (oidc::authorize::IDP, "The upstream provider (the `provider` of an sso or federated method)."),
];

#[rustfmt::skip]
const CALLBACK_QUERY: &[(&str, &str)] = &[
    (oidc::authorize::STATE, "The state this server sent upstream (single use)."),
    (oidc::authorize::CODE, "The upstream's authorization code."),
    (oidc::authorize::ISS, "The upstream's issuer (RFC 9207), checked when sent or advertised."),
    (oidc::authorize::ERROR, "The upstream's refusal (`access_denied`, ...)."),
];

/// Every route, in the order of docs/protocol.md: a table, one operation per entry.
#[rustfmt::skip]
pub(super) fn endpoints() -> Vec<Endpoint> {
    use Auth::{Bearer, Signed};
    use ErrorCode::*;
    vec![
        get(paths::DISCOVERY, "Discovery document with the extension endpoints")
            .answers(200, wire::<Discovery>()),
        get(paths::OPENAPI, "This document"),
        post(paths::LOGIN_METHODS, "Ordered sign-in methods for an identifier (same shape for unknown identifiers)")
            .body(Body::Json(wire::<LoginMethodsRequest>()))
            .answers(200, wire::<LoginMethods>())
            .errors(&[InvalidRequest]),
        post(paths::AUTHORIZE_CHALLENGE, "First-party authorization challenge: an authorization_code, or insufficient_authorization with auth_session and the next step")
            .body(Body::Form(AUTHORIZE_CHALLENGE))
            .answers(200, wire::<AuthorizationCode>())
            .errors(&[InsufficientAuthorization, InvalidRequest, InvalidClient, InvalidScope, InvalidSession, WrongCredential, Expired, SlowDown, Locked, RedirectToWeb, AccessDenied, NumberMismatch, PushBlocked, EnrollmentRequired, UpgradeRequired]),
        get(paths::AUTHORIZE, "Browser authorization endpoint (code + PKCE S256): a 302 to the upstream provider of `idp` (or of the login_hint's organisation); errors a 302 to redirect_uri with error, error_description, state, iss; a plain page for an unknown client or redirect_uri")
            .query(AUTHORIZE_QUERY)
            .page()
            .errors(&[InvalidRequest, InvalidScope, TemporarilyUnavailable]),
        get(paths::AUTHORIZE_CALLBACK, "The upstream provider's answer: a 302 to the client's redirect_uri with code, state and iss, or error=access_denied and the reason; a plain page for an unknown, used or expired state")
            .query(CALLBACK_QUERY)
            .page()
            .errors(&[AccessDenied, TemporarilyUnavailable]),
        post(paths::TOKEN, "Token endpoint: authorization_code (+ PKCE S256 code_verifier), refresh_token (rotating, reuse revokes the family), and password (an app password or the password + security token) for clients allowed to")
            .body(Body::Form(TOKEN))
            .answers(200, wire::<Tokens>())
            .errors(&[InvalidRequest, InvalidClient, InvalidGrant, UnsupportedGrantType, UnauthorizedClient, WrongCredential, Locked, SlowDown]),
        post(paths::REVOKE, "Token revocation (RFC 7009): revokes the session of an access or refresh token")
            .body(Body::Form(REVOKE))
            .answers(200, wire::<Revoked>())
            .errors(&[InvalidRequest, InvalidClient, UnauthorizedClient]),
        post(paths::LOGOUT, "Ends the session of the presented access token")
            .auth(Bearer)
            .answers(200, wire::<LoggedOut>())
            .errors(&[InvalidToken]),
        post(paths::LOGOUT_ALL, "Ends every session of the user on every device; answers revoked_sessions, revoked_app_passwords and recent_devices (devices added in the review window)")
            .auth(Bearer)
            .query(&[("app_passwords", "`revoke`: every app password stops working too (default `keep`).")])
            .answers(200, wire::<LoggedOutEverywhere>())
            .errors(&[InvalidToken]),
        get(paths::USERINFO, "OpenID Connect userinfo: sub and the claims of the session's scopes")
            .auth(Bearer)
            .answers(200, wire::<UserInfoClaims>())
            .errors(&[InvalidToken]),
        get(paths::JWKS, "The ID-token signing keys (JWK set, ES256), the active one first")
            .answers(200, wire::<JwkSet>()),
        get(paths::END_SESSION, "OpenID Connect RP-initiated logout: ends the id_token_hint's session; a 302 to post_logout_redirect_uri or a plain page")
            .query(END_SESSION_QUERY)
            .page()
            .errors(&[InvalidRequest]),
        post(paths::END_SESSION, "RP-initiated logout, the same parameters as a form")
            .body(Body::Form(END_SESSION_FORM))
            .page()
            .errors(&[InvalidRequest]),
        get(paths::SIGN_INS, "Sign-in history: time, method, factors, IP, user agent, result")
            .auth(Bearer)
            .answers(200, wire::<SignIns>())
            .errors(&[InvalidToken]),
        get(paths::SESSIONS, "The user's active sessions (client, method, factors, IP, user agent, start, end of lifetime), newest first; `current` marks the caller's")
            .auth(Bearer)
            .answers(200, wire::<ActiveSessions>())
            .errors(&[InvalidToken]),
        delete(paths::SESSION, "Ends one of the user's sessions: its access and refresh tokens stop working")
            .auth(Bearer)
            .params(SESSION_ID)
            .answers(200, wire::<LoggedOut>())
            .errors(&[InvalidToken, NotFound]),
        get(paths::SECURITY_EVENTS, "Security events (devices, TOTP, backup codes, password, reset review), newest first")
            .auth(Bearer)
            .answers(200, wire::<SecurityEvents>())
            .errors(&[InvalidToken]),
        post(paths::TOTP, "New pending TOTP credential as an otpauth URI (needs a stepped-up session)")
            .auth(Bearer)
            .answers(200, wire::<TotpEnrollment>())
            .errors(&[InvalidToken, InsufficientUserAuthentication]),
        delete(paths::TOTP, "Removes the TOTP credential (needs a stepped-up session)")
            .auth(Bearer)
            .answers(200, wire::<Removed>())
            .errors(&[InvalidToken, InsufficientUserAuthentication, NotFound]),
        post(paths::TOTP_CONFIRM, "Activates the pending TOTP credential with a current code")
            .auth(Bearer)
            .body(Body::Json(wire::<CodeRequest>()))
            .answers(200, wire::<Confirmed>())
            .errors(&[InvalidToken, InsufficientUserAuthentication, InvalidRequest, WrongCredential]),
        post(paths::TOTP_CONFIRM_SUSPENDED, "Keeps the TOTP credential a password reset suspended (needs a stepped-up session)")
            .auth(Bearer)
            .answers(200, wire::<Confirmed>())
            .errors(&[InvalidToken, InsufficientUserAuthentication, InvalidRequest]),
        post(paths::BACKUP_CODES, "Ten new single-use backup codes, shown once; older ones stop working (needs a stepped-up session)")
            .auth(Bearer)
            .answers(200, wire::<BackupCodes>())
            .errors(&[InvalidToken, InsufficientUserAuthentication]),
        post(paths::PASSWORD, "Changes the password (needs a stepped-up session and the current password); the user's other sessions end")
            .auth(Bearer)
            .body(Body::Json(wire::<ChangePasswordRequest>()))
            .answers(200, wire::<PasswordChanged>())
            .errors(&[InvalidToken, InsufficientUserAuthentication, WrongCredential, Locked, WeakPassword]),
        post(paths::PASSWORD_FORGOT, "Emails a single-use reset code; same answer whether the account exists")
            .body(Body::Json(wire::<ForgotPasswordRequest>()))
            .answers(202, wire::<ResetCodeSent>())
            .errors(&[InvalidRequest, SlowDown]),
        post(paths::PASSWORD_RESET, "Sets a new password with the emailed code; revokes every session")
            .body(Body::Json(wire::<ResetPasswordRequest>()))
            .answers(200, wire::<PasswordReset>())
            .errors(&[InvalidRequest, WrongCredential, Expired, WeakPassword]),
        post(paths::AUTHENTICATORS, "Starts an authenticator enrollment: QR payload authcore://enroll?..., the activation code in groups, the server URL (code: 60 bits, single use, 10 minutes); needs a stepped-up session")
            .auth(Bearer)
            .answers(201, wire::<EnrollmentStarted>())
            .errors(&[InvalidToken, InsufficientUserAuthentication, SlowDown]),
        get(paths::AUTHENTICATOR, "Enrollment status (waiting_for_device, approve_test with the number to show, completed, failed, expired); ?wait=N&status=S long-polls while the status is S")
            .auth(Bearer)
            .params(ENROLLMENT_ID)
            .query(&[WAIT, (query::STATUS, "The status the screen shows: `wait` waits while it is still this one.")])
            .answers(200, wire::<Enrollment>())
            .errors(&[InvalidToken, NotFound, InvalidRequest]),
        get(paths::DEVICES, "The user's authenticator devices")
            .auth(Bearer)
            .answers(200, wire::<Devices>())
            .errors(&[InvalidToken]),
        get(paths::DEVICE, "One authenticator device")
            .auth(Bearer)
            .params(DEVICE_ID)
            .answers(200, wire::<DeviceView>())
            .errors(&[InvalidToken, NotFound]),
        patch(paths::DEVICE, "Renames a device or replaces its OS push token")
            .auth(Bearer)
            .params(DEVICE_ID)
            .body(Body::Json(wire::<DevicePatch>()))
            .answers(200, wire::<DeviceView>())
            .errors(&[InvalidToken, NotFound, InvalidRequest]),
        delete(paths::DEVICE, "Removes a device: it can no longer answer push requests (needs a stepped-up session)")
            .auth(Bearer)
            .params(DEVICE_ID)
            .answers(200, wire::<Removed>())
            .errors(&[InvalidToken, InsufficientUserAuthentication, NotFound]),
        post(paths::DEVICE_CONFIRM, "Keeps a device a password reset suspended (needs a stepped-up session)")
            .auth(Bearer)
            .params(DEVICE_ID)
            .answers(200, wire::<DeviceView>())
            .errors(&[InvalidToken, InsufficientUserAuthentication, NotFound, InvalidRequest]),
        get(paths::APP_PASSWORDS, "The user's app passwords not revoked: name, created, last used; never a password")
            .auth(Bearer)
            .answers(200, wire::<AppPasswords>())
            .errors(&[InvalidToken]),
        post(paths::APP_PASSWORDS, "Creates an app password for a named app: 16 lower-case letters in groups of four, shown this once (needs a stepped-up session and a second factor)")
            .auth(Bearer)
            .body(Body::Json(wire::<NewAppPassword>()))
            .answers(201, wire::<AppPasswordCreated>())
            .errors(&[InvalidToken, InsufficientUserAuthentication, InvalidRequest, SecondFactorRequired]),
        delete(paths::APP_PASSWORD, "Revokes an app password: it stops working at once (needs a stepped-up session)")
            .auth(Bearer)
            .params(APP_PASSWORD_ID)
            .answers(200, wire::<Removed>())
            .errors(&[InvalidToken, InsufficientUserAuthentication, NotFound]),
        post(paths::SECURITY_TOKEN, "Resets the API security token: a new 24-character token is emailed (never answered); the previous one stops working (needs a stepped-up session)")
            .auth(Bearer)
            .answers(202, wire::<SecurityTokenSent>())
            .errors(&[InvalidToken, InsufficientUserAuthentication]),
        post(paths::DEVICE_ACTIVATE, "Registers a device with an activation code and its P-256 key, signed by that key; answers the device id, the test approval, whether the attestation verified and whether phone sign-in will reach the device")
            .auth(Signed { device_id: false })
            .body(Body::Json(wire::<ActivateRequest>()))
            .answers(201, wire::<Activated>())
            .errors(&[InvalidRequest, InvalidAttestation, InvalidActivationCode, Expired, InvalidSignature, StaleRequest, UpgradeRequired]),
        get(paths::DEVICE_CHALLENGES, "Signed device request: pending push requests for this device; ?wait=N long-polls and wakes at once when one is created")
            .auth(Signed { device_id: true })
            .query(&[WAIT])
            .answers(200, wire::<Challenges>())
            .errors(&[InvalidRequest, UnknownDevice, InvalidSignature, StaleRequest, ReplayedRequest, UpgradeRequired]),
        post(paths::DEVICE_CHALLENGE, "Signed device request: approve with the number, deny, or report_fraud; the body's signature covers the canonical decision message")
            .auth(Signed { device_id: true })
            .params(REQUEST_ID)
            .body(Body::Json(wire::<DecisionRequest>()))
            .answers(200, wire::<DecisionAnswer>())
            .errors(&[InvalidRequest, UnknownDevice, InvalidSignature, StaleRequest, ReplayedRequest, UnknownRequest, AlreadyAnswered, Expired, NumberMismatch]),
        post(paths::DEVICE_PUSH_TOKEN, "Signed device request: replaces this device's OS push token (FCM/APNs), or clears it with null")
            .auth(Signed { device_id: true })
            .body(Body::Json(wire::<PushTokenUpdate>()))
            .answers(200, wire::<PushTokenUpdated>())
            .errors(&[InvalidRequest, UnknownDevice, InvalidSignature, StaleRequest, ReplayedRequest]),
        get(paths::ADMIN_USERS, "The organisation's users by email with their roles (needs a stepped-up session and the owner, admin or helpdesk role)")
            .auth(Bearer)
            .answers(200, wire::<OrgUsers>())
            .errors(&[InvalidToken, InsufficientUserAuthentication, PermissionDenied]),
        get(paths::DEV_OUTBOX, "Recorded messages (only with --dev)")
            .query(&[("to", "Only the messages to this recipient.")])
            .answers(200, wire::<DevOutbox>()),
    ]
}
