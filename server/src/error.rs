//! The one error type handlers return: a status, a stable `error` code, a human
//! `error_description` and optional extra fields (`attempts_left`, `retry_after`, ...).
//! Every failure the server answers is 4xx JSON (or 503 when storage is unavailable); never 500.

use authcore_protocol::signin::Next;
use authcore_protocol::{ErrorBody, ErrorCode};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// A status and the protocol's [`ErrorBody`] (boxed: handlers return `Result`s of it).
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: Box<ErrorBody>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: ErrorCode, description: impl Into<String>) -> Self {
        ApiError {
            status,
            body: Box::new(ErrorBody::new(error, description)),
        }
    }

    pub fn code(&self) -> ErrorCode {
        self.body.error
    }

    pub fn attempts_left(mut self, attempts_left: u32) -> Self {
        self.body.attempts_left = Some(attempts_left);
        self
    }

    pub fn reason(mut self, reason: &str) -> Self {
        self.body.reason = Some(reason.to_owned());
        self
    }

    /// At least 1 s (also the `Retry-After` header).
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.body.retry_after = Some(seconds.max(1));
        self
    }

    pub fn auth_session(mut self, token: String) -> Self {
        self.body.auth_session = Some(token);
        self
    }

    pub fn next(mut self, next: Next) -> Self {
        self.body.next = Some(next);
        self
    }

    /// `redirect_to_web`: the method, its provider and the browser's URL.
    pub fn web_method(mut self, method: &str, provider: &str, url: Option<String>) -> Self {
        self.body.method = Some(method.to_owned());
        self.body.provider = Some(provider.to_owned());
        self.body.url = url;
        self
    }

    pub fn server_time(mut self, now: u64) -> Self {
        self.body.server_time = Some(now);
        self
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            description,
        )
    }

    /// `400 invalid_attestation`: the device attestation sent at activation did not verify;
    /// `reason` says which check failed.
    pub fn invalid_attestation(reason: &str) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidAttestation,
            format!("the device attestation did not verify: {reason}"),
        )
    }

    pub fn invalid_client() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidClient,
            "client_id is missing or not a registered client",
        )
    }

    pub fn invalid_session() -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidSession,
            "auth_session is unknown, expired or already used; start again",
        )
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidGrant,
            description,
        )
    }

    /// RFC 7009 section 2.1: the token was issued to another client (it stays valid).
    pub fn unauthorized_client(description: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::UnauthorizedClient,
            description,
        )
    }

    pub fn invalid_token() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidToken,
            "the access token is missing, expired or revoked",
        )
    }

    pub fn wrong_credential(what: &str, attempts_left: u32) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::WrongCredential,
            format!("the {what} is not correct"),
        )
        .attempts_left(attempts_left)
    }

    pub fn expired(description: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::Expired, description)
    }

    pub fn slow_down(retry_after: u64, description: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::SlowDown,
            description,
        )
        .retry_after(retry_after)
    }

    /// `slow_down` naming the limit reached: at most `count` of `of` per `window_s` seconds.
    pub fn limited(
        retry_after: u64,
        description: impl Into<String>,
        of: authcore_protocol::error::LimitOf,
        count: u32,
        window_s: u64,
    ) -> Self {
        let mut error = ApiError::slow_down(retry_after, description);
        error.body.limit = Some(authcore_protocol::error::Limit {
            of,
            count,
            window_s,
        });
        error
    }

    /// The address reached `throttle.max_failures_per_ip` failed attempts in its window.
    pub fn address_throttled(retry_after: u64, throttle: &crate::config::ThrottleConfig) -> Self {
        ApiError::limited(
            retry_after,
            "too many failed attempts from this address",
            authcore_protocol::error::LimitOf::FailedAttempts,
            throttle.max_failures_per_ip,
            throttle.window_s,
        )
    }

    pub fn locked(retry_after: u64) -> Self {
        ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Locked,
            "too many wrong passwords; the account is locked for a while",
        )
        .retry_after(retry_after)
    }

    /// RFC 9470: the access token's sign-in is too old or too weak for this change; sign in
    /// again with `acr_values=mfa`.
    pub fn insufficient_user_authentication(max_age: u64) -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::InsufficientUserAuthentication,
            format!(
                "this change needs a sign-in with a second factor in the last {max_age} seconds; sign in again with acr_values=mfa"
            ),
        )
        .step_up_needed(max_age)
    }

    fn step_up_needed(mut self, max_age: u64) -> Self {
        self.body.max_age = Some(max_age);
        self.body.acr_values = Some(authcore_protocol::signin::ACR_MFA.to_owned());
        self
    }

    pub fn weak_password(min: usize, max: usize) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::WeakPassword,
            format!("the new password must be {min} to {max} characters"),
        )
    }

    pub fn not_found() -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "no such endpoint",
        )
    }

    pub fn unavailable() -> Self {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::TemporarilyUnavailable,
            "the server cannot reach its storage right now; try again",
        )
        .retry_after(1)
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> Self {
        // The store's message carries no user data (only SQL error kinds).
        tracing::warn!(%error, "storage error");
        ApiError::unavailable()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.body.error;
        let retry_after = self.body.retry_after;
        let max_age = self.body.max_age;
        let mut response = (self.status, axum::Json(self.body)).into_response();
        response.extensions_mut().insert(LoggedError(code));
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED && code == ErrorCode::InvalidToken {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        if code == ErrorCode::InsufficientUserAuthentication {
            let value = format!(
                "Bearer error=\"insufficient_user_authentication\", max_age={}, acr_values=\"mfa\"",
                max_age.unwrap_or(0)
            );
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

/// The `error` of an answer, for the request log (which sees the response, not the body).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoggedError(pub ErrorCode);

pub type ApiResult<T> = Result<T, ApiError>;
