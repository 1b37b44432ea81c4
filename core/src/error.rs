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
    /// `limit` names the limit reached when the server says which ("3 codes were sent in 10
    /// minutes; try again in 8 min").
    #[error("{}", rate_limited_text(*.retry_after, .limit.as_ref()))]
    RateLimited {
        retry_after: u64,
        limit: Option<RateLimit>,
    },
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

/// A limit the server said was reached: at most `count` of `kind` per `window_s` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RateLimit {
    pub kind: RateLimitKind,
    pub count: u32,
    pub window_s: u64,
}

/// What a [`RateLimit`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum RateLimitKind {
    /// Codes sent to one email address or phone number.
    CodesSent,
    /// A code was just sent; the next waits (`window_s`: the resend delay).
    CodeResend,
    /// Sign-in requests sent to the user's phone and not approved.
    PushesSent,
    /// Phone sign-ins (without a password) asked for one identifier.
    PhoneSignIns,
    /// Failed attempts from this network address.
    FailedAttempts,
    /// Authenticator setups started and not finished.
    PendingEnrollments,
}

impl RateLimit {
    /// The wire's limit; `None` for a kind of a newer server (the text then names none).
    fn of_wire(limit: authcore_protocol::error::Limit) -> Option<RateLimit> {
        use authcore_protocol::error::LimitOf as W;
        let kind = match limit.of {
            W::CodesSent => RateLimitKind::CodesSent,
            W::CodeResend => RateLimitKind::CodeResend,
            W::PushesSent => RateLimitKind::PushesSent,
            W::PhoneSignIns => RateLimitKind::PhoneSignIns,
            W::FailedAttempts => RateLimitKind::FailedAttempts,
            W::PendingEnrollments => RateLimitKind::PendingEnrollments,
            W::Unknown => return None,
        };
        Some(RateLimit {
            kind,
            count: limit.count,
            window_s: limit.window_s,
        })
    }
}

/// The sentence of [`ClientError::RateLimited`] (the bindings show the same one).
pub fn rate_limited_text(retry_after: u64, limit: Option<&RateLimit>) -> String {
    let wait = if retry_after < 60 {
        format!("{retry_after} s")
    } else {
        format!("{} min", retry_after.div_ceil(60))
    };
    let Some(limit) = limit else {
        return format!("too many attempts; try again in {wait}");
    };
    let n = limit.count;
    let window = span(limit.window_s);
    let plural = |one: &str, many: &str| {
        if n == 1 {
            one.to_owned()
        } else {
            format!("{n} {many}")
        }
    };
    match limit.kind {
        RateLimitKind::CodesSent => format!(
            "{} sent in {window}; try again in {wait}",
            plural("1 code was", "codes were")
        ),
        RateLimitKind::CodeResend => format!("a new code can be sent in {wait}"),
        RateLimitKind::PushesSent => format!(
            "{} sent to your phone in {window}; try again in {wait}",
            plural("1 sign-in request was", "sign-in requests were")
        ),
        RateLimitKind::PhoneSignIns => format!(
            "{} asked for in {window}; try again in {wait}",
            plural("1 phone sign-in was", "phone sign-ins were")
        ),
        RateLimitKind::FailedAttempts => format!(
            "{} from this network in {window}; try again in {wait}",
            plural("1 attempt failed", "attempts failed")
        ),
        RateLimitKind::PendingEnrollments => format!(
            "{} already waiting for a phone; finish one or try again in {wait}",
            plural("1 authenticator setup is", "authenticator setups are")
        ),
    }
}

/// `600` -> "10 minutes", `3600` -> "1 hour", `90` -> "90 seconds".
fn span(seconds: u64) -> String {
    let (n, unit) = if seconds % 3600 == 0 && seconds > 0 {
        (seconds / 3600, "hour")
    } else if seconds % 60 == 0 && seconds > 0 {
        (seconds / 60, "minute")
    } else {
        (seconds, "second")
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
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
            ErrorCode::SlowDown => ClientError::RateLimited {
                retry_after,
                limit: body.limit.and_then(RateLimit::of_wire),
            },
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
            // A device or session id that is not (or no longer) the user's: the server's
            // sentence ("no active session of yours has this id") says which.
            ErrorCode::NotFound if !body.error_description.is_empty() => {
                ClientError::InvalidInput {
                    what: body.error_description,
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn limited(kind: RateLimitKind, count: u32, window_s: u64, retry_after: u64) -> String {
        ClientError::RateLimited {
            retry_after,
            limit: Some(RateLimit {
                kind,
                count,
                window_s,
            }),
        }
        .to_string()
    }

    #[test]
    fn a_rate_limit_names_the_limit_it_reached() {
        use RateLimitKind::*;
        assert_eq!(
            limited(CodesSent, 3, 600, 451),
            "3 codes were sent in 10 minutes; try again in 8 min"
        );
        assert_eq!(
            limited(CodesSent, 1, 60, 30),
            "1 code was sent in 1 minute; try again in 30 s"
        );
        assert_eq!(
            limited(CodeResend, 1, 30, 25),
            "a new code can be sent in 25 s"
        );
        assert_eq!(
            limited(PushesSent, 5, 600, 60),
            "5 sign-in requests were sent to your phone in 10 minutes; try again in 1 min"
        );
        assert_eq!(
            limited(PhoneSignIns, 5, 3600, 3599),
            "5 phone sign-ins were asked for in 1 hour; try again in 60 min"
        );
        assert_eq!(
            limited(FailedAttempts, 100, 90, 7),
            "100 attempts failed from this network in 90 seconds; try again in 7 s"
        );
        assert_eq!(
            limited(PendingEnrollments, 3, 600, 120),
            "3 authenticator setups are already waiting for a phone; finish one or try again in 2 min"
        );
        let unnamed = ClientError::RateLimited {
            retry_after: 30,
            limit: None,
        };
        assert_eq!(unnamed.to_string(), "too many attempts; try again in 30 s");
    }

    #[test]
    fn a_limit_of_a_newer_server_is_read_as_no_limit() {
        let body: authcore_protocol::ErrorBody = serde_json::from_str(
            r#"{"error":"slow_down","retry_after":9,"limit":{"of":"galaxies","count":1,"window_s":1}}"#,
        )
        .unwrap();
        let limit = body.limit.and_then(RateLimit::of_wire);
        assert_eq!(limit, None);
    }
}
