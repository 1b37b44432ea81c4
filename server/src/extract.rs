//! Request extractors that answer bad input with the protocol's JSON errors: the 64 KiB body cap,
//! content-type checks, form parameters (OAuth style: unknown ones ignored, repeated ones refused),
//! JSON bodies, bearer tokens and the caller's address.

use authcore_protocol::ErrorCode;
use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::secrets::SecretString;

/// The largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;

async fn body_of(req: Request, expected: &str) -> Result<axum::body::Bytes, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence != expected {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::InvalidRequest,
            format!("the body must be {expected}"),
        ));
    }
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::InvalidRequest,
            format!("the body is larger than {MAX_BODY} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(req.into_body(), MAX_BODY)
        .await
        .map_err(|_| too_large())
}

/// Form-encoded parameters (`application/x-www-form-urlencoded`).
#[derive(Default)]
pub struct Params(HashMap<String, SecretString>);

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only: values may be passwords or codes.
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Params {
    pub fn parse(body: &[u8]) -> Result<Params, ApiError> {
        let mut map = HashMap::new();
        for (key, value) in form_urlencoded::parse(body) {
            let key = key.into_owned();
            if map.contains_key(&key) {
                return Err(ApiError::invalid_request(format!(
                    "parameter `{key}` appears more than once"
                )));
            }
            map.insert(key, SecretString::new(value.into_owned()));
        }
        Ok(Params(map))
    }

    /// A parameter; an empty value counts as absent.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(SecretString::expose)
            .filter(|v| !v.is_empty())
    }

    pub fn require(&self, key: &str) -> Result<&str, ApiError> {
        self.get(key)
            .ok_or_else(|| ApiError::invalid_request(format!("`{key}` is required")))
    }
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let body = body_of(req, "application/x-www-form-urlencoded").await?;
        Params::parse(&body)
    }
}

/// A JSON body (`application/json`) read into `T`; unknown fields are ignored.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let body = body_of(req, "application/json").await?;
        serde_json::from_slice(&body).map(JsonBody).map_err(|e| {
            let what = match e.classify() {
                serde_json::error::Category::Data => "a field is missing or has the wrong type",
                _ => "the body is not valid JSON",
            };
            ApiError::invalid_request(format!("{what} (line {}, column {})", e.line(), e.column()))
        })
    }
}

/// The `Authorization: Bearer` access token.
#[derive(Debug)]
pub struct Bearer(pub SecretString);

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(ApiError::invalid_token)?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(ApiError::invalid_token)?;
        Ok(Bearer(SecretString::new(token.to_owned())))
    }
}

/// Who is calling: peer IP and user agent, for throttling and the sign-in history.
#[derive(Debug, Clone)]
pub struct Caller {
    pub ip: String,
    pub user_agent: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_else(|| "unknown".into());
        let user_agent: String = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(200)
            .collect();
        Ok(Caller { ip, user_agent })
    }
}
