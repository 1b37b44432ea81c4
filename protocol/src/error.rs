//! The error body every failure answers (docs/protocol.md, "Errors"): the `error` code, a human
//! `error_description` and the optional fields some codes carry.

use serde::{Deserialize, Serialize};

use crate::signin::Next;

/// Every `error` value of docs/protocol.md's errors table.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InsufficientAuthorization,
    InvalidSession,
    WrongCredential,
    Expired,
    SlowDown,
    Locked,
    UnauthorizedClient,
    RedirectToWeb,
    InvalidGrant,
    UnsupportedGrantType,
    InvalidToken,
    InsufficientUserAuthentication,
    WeakPassword,
    NotFound,
    AccessDenied,
    NumberMismatch,
    PushBlocked,
    EnrollmentRequired,
    InvalidActivationCode,
    InvalidAttestation,
    UnknownDevice,
    InvalidSignature,
    StaleRequest,
    ReplayedRequest,
    UnknownRequest,
    AlreadyAnswered,
    TemporarilyUnavailable,
    RequestTimeout,
    UpgradeRequired,
    InvalidScope,
    SecondFactorRequired,
    PermissionDenied,
}

impl ErrorCode {
    /// Every code, in the order of the errors table.
    pub const ALL: [ErrorCode; 34] = [
        ErrorCode::InvalidRequest,
        ErrorCode::InvalidClient,
        ErrorCode::InsufficientAuthorization,
        ErrorCode::InvalidSession,
        ErrorCode::WrongCredential,
        ErrorCode::Expired,
        ErrorCode::SlowDown,
        ErrorCode::Locked,
        ErrorCode::UnauthorizedClient,
        ErrorCode::RedirectToWeb,
        ErrorCode::InvalidGrant,
        ErrorCode::UnsupportedGrantType,
        ErrorCode::InvalidToken,
        ErrorCode::InsufficientUserAuthentication,
        ErrorCode::WeakPassword,
        ErrorCode::NotFound,
        ErrorCode::AccessDenied,
        ErrorCode::NumberMismatch,
        ErrorCode::PushBlocked,
        ErrorCode::EnrollmentRequired,
        ErrorCode::InvalidActivationCode,
        ErrorCode::InvalidAttestation,
        ErrorCode::UnknownDevice,
        ErrorCode::InvalidSignature,
        ErrorCode::StaleRequest,
        ErrorCode::ReplayedRequest,
        ErrorCode::UnknownRequest,
        ErrorCode::AlreadyAnswered,
        ErrorCode::TemporarilyUnavailable,
        ErrorCode::RequestTimeout,
        ErrorCode::UpgradeRequired,
        ErrorCode::InvalidScope,
        ErrorCode::SecondFactorRequired,
        ErrorCode::PermissionDenied,
    ];

    /// The `error` value on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InsufficientAuthorization => "insufficient_authorization",
            ErrorCode::InvalidSession => "invalid_session",
            ErrorCode::WrongCredential => "wrong_credential",
            ErrorCode::Expired => "expired",
            ErrorCode::SlowDown => "slow_down",
            ErrorCode::Locked => "locked",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::RedirectToWeb => "redirect_to_web",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientUserAuthentication => "insufficient_user_authentication",
            ErrorCode::WeakPassword => "weak_password",
            ErrorCode::NotFound => "not_found",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::NumberMismatch => "number_mismatch",
            ErrorCode::PushBlocked => "push_blocked",
            ErrorCode::EnrollmentRequired => "enrollment_required",
            ErrorCode::InvalidActivationCode => "invalid_activation_code",
            ErrorCode::InvalidAttestation => "invalid_attestation",
            ErrorCode::UnknownDevice => "unknown_device",
            ErrorCode::InvalidSignature => "invalid_signature",
            ErrorCode::StaleRequest => "stale_request",
            ErrorCode::ReplayedRequest => "replayed_request",
            ErrorCode::UnknownRequest => "unknown_request",
            ErrorCode::AlreadyAnswered => "already_answered",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::UpgradeRequired => "upgrade_required",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::SecondFactorRequired => "second_factor_required",
            ErrorCode::PermissionDenied => "permission_denied",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error answer. Fields other than `error` and `error_description` are absent unless the
/// code carries them.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorCode,
    /// Always sent; a client reads a body without one as empty.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required))]
    pub error_description: String,
    /// `wrong_credential`: tries left on this code or before the lockout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u32>,
    /// `wrong_credential` (`replayed`), `access_denied` (`denied`, `fraud_reported`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `slow_down`, `locked`, `push_blocked`, `temporarily_unavailable`: seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// `slow_down`: the limit that was reached, so a screen can name it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Limit>,
    /// `/v1/authorize-challenge` errors the client can continue from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_session: Option<String>,
    /// `insufficient_authorization`: what the client shows next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<Next>,
    /// `redirect_to_web`: the method and its provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// `redirect_to_web`: this server's authorization endpoint with the parameters it chose
    /// (`idp`, `login_hint`); the app appends the standard ones and opens it in the browser.
    /// Absent when the provider has no upstream configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `insufficient_user_authentication` (RFC 9470).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr_values: Option<String>,
    /// `stale_request`: the server's clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_time: Option<u64>,
}

impl ErrorBody {
    pub fn new(error: ErrorCode, error_description: impl Into<String>) -> Self {
        ErrorBody {
            error,
            error_description: error_description.into(),
            attempts_left: None,
            reason: None,
            retry_after: None,
            limit: None,
            auth_session: None,
            next: None,
            method: None,
            provider: None,
            url: None,
            max_age: None,
            acr_values: None,
            server_time: None,
        }
    }
}

crate::redacted_debug!(ErrorBody);

/// A limit a `slow_down` reached: at most `count` of `of` per `window_s` seconds.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Limit {
    pub of: LimitOf,
    pub count: u32,
    pub window_s: u64,
}

/// What a [`Limit`] counts.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LimitOf {
    /// Codes sent to one email address or phone number.
    CodesSent,
    /// A code was just sent: the next one waits (`count` 1, `window_s` the resend delay).
    CodeResend,
    /// Sign-in requests sent to the user's phone and not approved.
    PushesSent,
    /// Phone sign-ins (without a password) asked for one identifier.
    PhoneSignIns,
    /// Failed attempts from one network address.
    FailedAttempts,
    /// Authenticator enrollments started and not finished.
    PendingEnrollments,
    /// A limit of a newer server this version does not know. Never sent.
    #[serde(other)]
    Unknown,
}
