//! The one error type handlers return: a status, a stable `error` code, a human
//! `error_description` and optional extra fields (`attempts_left`, `retry_after`, ...).
//! Every failure the server answers is 4xx JSON (or 503 when storage is unavailable); never 500.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
    pub extra: Map<String, Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        ApiError {
            status,
            error,
            description: description.into(),
            extra: Map::new(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// `400 invalid_attestation`: the device attestation sent at activation did not verify;
    /// `reason` says which check failed.
    pub fn invalid_attestation(reason: &str) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_attestation",
            format!("the device attestation did not verify: {reason}"),
        )
    }

    pub fn invalid_client() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client_id is missing or not a registered client",
        )
    }

    pub fn invalid_session() -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_session",
            "auth_session is unknown, expired or already used; start again",
        )
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    /// RFC 7009 section 2.1: the token was issued to another client (it stays valid).
    pub fn unauthorized_client(description: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "unauthorized_client", description)
    }

    pub fn invalid_token() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the access token is missing, expired or revoked",
        )
    }

    pub fn wrong_credential(what: &str, attempts_left: u32) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "wrong_credential",
            format!("the {what} is not correct"),
        )
        .with("attempts_left", attempts_left)
    }

    pub fn expired(description: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "expired", description)
    }

    pub fn slow_down(retry_after: u64, description: impl Into<String>) -> Self {
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "slow_down", description)
            .with("retry_after", retry_after.max(1))
    }

    pub fn locked(retry_after: u64) -> Self {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "locked",
            "too many wrong passwords; the account is locked for a while",
        )
        .with("retry_after", retry_after.max(1))
    }

    /// RFC 9470: the access token's sign-in is too old or too weak for this change; sign in
    /// again with `acr_values=mfa`.
    pub fn insufficient_user_authentication(max_age: u64) -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "insufficient_user_authentication",
            format!(
                "this change needs a sign-in with a second factor in the last {max_age} seconds; sign in again with acr_values=mfa"
            ),
        )
        .with("max_age", max_age)
        .with("acr_values", "mfa")
    }

    pub fn weak_password(min: usize, max: usize) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "weak_password",
            format!("the new password must be {min} to {max} characters"),
        )
    }

    pub fn not_found() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
    }

    pub fn unavailable() -> Self {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "the server cannot reach its storage right now; try again",
        )
        .with("retry_after", 1)
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
        let retry_after = self.extra.get("retry_after").and_then(Value::as_u64);
        let max_age = self.extra.get("max_age").and_then(Value::as_u64);
        let mut body = Map::new();
        body.insert("error".into(), Value::from(self.error));
        body.insert("error_description".into(), Value::from(self.description));
        body.extend(self.extra);
        let mut response = (self.status, axum::Json(Value::Object(body))).into_response();
        response.extensions_mut().insert(ErrorCode(self.error));
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED && self.error == "invalid_token" {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        if self.error == "insufficient_user_authentication" {
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
pub(crate) struct ErrorCode(pub &'static str);

pub type ApiResult<T> = Result<T, ApiError>;
