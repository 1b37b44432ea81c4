//! The public error of everything that talks to the identity server: sign-in, sessions, password
//! recovery. Internal failures (storage, and the transport's [`TransportError`]) convert here in
//! one place (CONVENTIONS.md 4); each variant is something an app can act on, and no variant
//! carries a dependency's text or a secret.
//!
//! The first eight variants are the [`TransportError`] ones, kept flat under their own names (the
//! sign-in screens and the bindings' `ClientException.Network`, `.Timeout`, … match on them);
//! they are only ever built from a `TransportError`.

use authcore_protocol::ErrorCode;

use crate::http::HttpError;
use crate::store::StoreError;
use crate::transport::{ErrorAnswer, TransportError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// No answer: refused, reset, closed early or cut off mid-body. `retryable` says whether trying
    /// again may help.
    #[error("the network failed")]
    Network { retryable: bool },
    #[error("the server did not answer in time")]
    Timeout,
    /// The server's certificate is not trusted (or does not match a pin).
    #[error("the server's certificate is not trusted")]
    Untrusted,
    /// Plain http to a host other than loopback; refused before any request.
    #[error("refusing plain http to {host}: only https is allowed outside loopback")]
    InsecureUrl { host: String },
    #[error("`{url}` is not a valid server URL")]
    InvalidUrl { url: String },
    /// The configured extra root certificate is not a PEM certificate.
    #[error("the extra root certificate is not a valid PEM certificate")]
    InvalidRootCertificate,
    /// The server failed (5xx) or answered a status the protocol does not allow here.
    #[error("the server answered with status {status}")]
    Server { status: u16 },
    /// The answer does not follow docs/protocol.md (malformed JSON, missing field, unknown step).
    #[error("the server's answer is not valid: {what}")]
    Protocol { what: String },
    /// The server does not know this app's `client_id`.
    #[error("this app is not registered with the server (unknown client_id)")]
    InvalidClient,
    /// Wrong password or code; the user stays on the same step.
    #[error("{}", wrong_credential_text(*.attempts_left))]
    WrongCredential { attempts_left: Option<u32> },
    /// The code expired, was used, or ran out of attempts: ask for a new one.
    #[error("the code expired; ask for a new one")]
    Expired,
    /// Too many attempts or sends; try again after `retry_after` seconds.
    #[error("too many attempts; try again in {retry_after} s")]
    RateLimited { retry_after: u64 },
    /// The account is locked after too many wrong credentials.
    #[error("the account is locked; try again in {retry_after} s")]
    Locked { retry_after: u64 },
    /// The push was denied on the phone (`fraud_reported` when the user reported it).
    #[error("{}", if *.fraud_reported { "the request was reported as fraud on your phone" } else { "the request was denied on your phone" })]
    PushDenied { fraud_reported: bool },
    /// The number entered on the phone did not match the one shown; the request was denied.
    #[error("the number entered on the phone did not match")]
    NumberMismatch,
    /// A push to this account was reported as fraud: no pushes for `retry_after` seconds.
    #[error("sign-in requests to your phone are paused for {retry_after} s after a fraud report")]
    PushBlocked { retry_after: u64 },
    /// Every phone of the user runs an authenticator app too old to show the sign-in number
    /// (it must be updated); another second factor still works.
    #[error("the authenticator app on your phone must be updated to show sign-in numbers; update it, or choose another way to sign in")]
    PhoneAppTooOld,
    /// The organisation requires an authenticator and no "Skip for now" is left.
    #[error("your organisation requires an authenticator app; set it up now")]
    EnrollmentRequired,
    /// The sign-in took too long or was replaced on the server: start again.
    #[error("this sign-in expired; start again")]
    SignInExpired,
    /// The session ended (logged out, revoked elsewhere, or its refresh token was reused).
    #[error("the session ended; sign in again")]
    SessionEnded,
    /// The server refused a security change (enrolling an authenticator or TOTP, new backup
    /// codes, removing a device or factor, changing the password) because this session's sign-in
    /// is too old or used no second factor. Sign in again for the same user with
    /// [`crate::session::Session::step_up`] (at most `max_age_s` seconds before the change) and
    /// retry with the session it ends in.
    #[error("confirm it's you: this change needs a sign-in with a second factor in the last {max_age_s} s")]
    StepUpRequired { max_age_s: u64 },
    /// The new password is outside the server's rules.
    #[error("the new password is not allowed: {reason}")]
    WeakPassword { reason: String },
    /// The input was refused before anything was sent, or the server refused it as malformed.
    #[error("{what}")]
    InvalidInput { what: String },
    /// The action does not apply to the current step (e.g. a code while a password is asked).
    #[error("`{action}` is not possible now (the flow is at {state})")]
    InvalidAction {
        action: &'static str,
        state: &'static str,
    },
    /// The call was cancelled (`cancel()`, or the flow was reset) before it finished.
    #[error("cancelled")]
    Cancelled,
    /// The secure store failed; nothing was lost.
    #[error(transparent)]
    Storage(#[from] StoreError),
}

fn wrong_credential_text(attempts_left: Option<u32>) -> String {
    match attempts_left {
        Some(1) => "that is not correct; 1 attempt left".into(),
        Some(n) => format!("that is not correct; {n} attempts left"),
        None => "that is not correct".into(),
    }
}

impl From<TransportError> for ClientError {
    fn from(error: TransportError) -> Self {
        match error {
            TransportError::Network { retryable } => ClientError::Network { retryable },
            TransportError::Timeout => ClientError::Timeout,
            TransportError::Untrusted => ClientError::Untrusted,
            TransportError::InsecureUrl { host } => ClientError::InsecureUrl { host },
            TransportError::InvalidUrl { url } => ClientError::InvalidUrl { url },
            TransportError::InvalidRootCertificate => ClientError::InvalidRootCertificate,
            TransportError::Server { status } => ClientError::Server { status },
            TransportError::Protocol { what } => ClientError::Protocol { what },
        }
    }
}

/// For `?` on [`crate::http::HttpClient::new`]; the mapping is [`TransportError`]'s.
impl From<HttpError> for ClientError {
    fn from(error: HttpError) -> Self {
        TransportError::from(error).into()
    }
}

/// The identity server's `error` codes (docs/protocol.md "Errors") as the sign-in sees them.
impl From<ErrorAnswer> for ClientError {
    fn from(answer: ErrorAnswer) -> Self {
        let retry_after = answer.retry_after();
        let body = answer.body;
        match body.error {
            ErrorCode::WrongCredential => ClientError::WrongCredential {
                attempts_left: body.attempts_left,
            },
            ErrorCode::Expired => ClientError::Expired,
            ErrorCode::AccessDenied => ClientError::PushDenied {
                fraud_reported: body.reason.as_deref() == Some("fraud_reported"),
            },
            ErrorCode::NumberMismatch => ClientError::NumberMismatch,
            ErrorCode::PushBlocked => ClientError::PushBlocked { retry_after },
            ErrorCode::EnrollmentRequired => ClientError::EnrollmentRequired,
            ErrorCode::UpgradeRequired => ClientError::PhoneAppTooOld,
            // RFC 9470: the sign-in behind this token is too old or too weak for the change.
            ErrorCode::InsufficientUserAuthentication => ClientError::StepUpRequired {
                max_age_s: body.max_age.unwrap_or(0),
            },
            ErrorCode::SlowDown => ClientError::RateLimited { retry_after },
            ErrorCode::Locked => ClientError::Locked { retry_after },
            ErrorCode::InvalidSession => ClientError::SignInExpired,
            ErrorCode::InvalidClient => ClientError::InvalidClient,
            ErrorCode::InvalidGrant | ErrorCode::InvalidToken => ClientError::SessionEnded,
            ErrorCode::WeakPassword => ClientError::WeakPassword {
                reason: body.error_description,
            },
            ErrorCode::InvalidRequest => ClientError::InvalidInput {
                what: if body.error_description.is_empty() {
                    "the server refused the request as malformed".into()
                } else {
                    body.error_description
                },
            },
            _ => ClientError::Server {
                status: answer.status,
            },
        }
    }
}

impl ClientError {
    pub(crate) fn protocol(what: impl Into<String>) -> Self {
        TransportError::protocol(what).into()
    }
}
