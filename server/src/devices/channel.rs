//! The signed device channel: a device API request as received ([`DeviceCall`]), its headers,
//! its JSON body, and the check of its timestamp, signature and nonce.

use authcore::device_protocol::{self as protocol, RequestParts};
use authcore_protocol::ErrorCode;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};

use crate::error::{ApiError, ApiResult};
use crate::extract::MAX_BODY;
use crate::store::Device;
use crate::AppState;

fn unknown_device() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        ErrorCode::UnknownDevice,
        "this device is not registered or was removed; enroll it again",
    )
}

pub(super) fn invalid_signature() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        ErrorCode::InvalidSignature,
        "the request signature does not verify with this device's key",
    )
}

/// A device API request as received: what its signature covers.
pub struct DeviceCall {
    method: String,
    pub(super) target: String,
    headers: HeaderMap,
    body: axum::body::Bytes,
}

impl<S: Send + Sync> FromRequest<S> for DeviceCall {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let method = req.method().as_str().to_owned();
        let target = req
            .uri()
            .path_and_query()
            .map_or_else(|| req.uri().path().to_owned(), |p| p.as_str().to_owned());
        let headers = req.headers().clone();
        let too_large = || {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::InvalidRequest,
                format!("the body is larger than {MAX_BODY} bytes"),
            )
        };
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_BODY as u64) {
            return Err(too_large());
        }
        let body = axum::body::to_bytes(req.into_body(), MAX_BODY)
            .await
            .map_err(|_| too_large())?;
        if !body.is_empty() {
            let json = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(';').next())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
            if !json {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    ErrorCode::InvalidRequest,
                    "the body must be application/json",
                ));
            }
        }
        Ok(DeviceCall {
            method,
            target,
            headers,
            body,
        })
    }
}

impl DeviceCall {
    fn header(&self, name: &str) -> ApiResult<&str> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                // `authcore-device-id` -> `Authcore-Device-Id`, as the protocol spells it.
                let shown: Vec<String> = name
                    .split('-')
                    .map(|part| {
                        let mut chars = part.chars();
                        chars.next().map_or_else(String::new, |first| {
                            first.to_ascii_uppercase().to_string() + chars.as_str()
                        })
                    })
                    .collect();
                ApiError::invalid_request(format!("the {} header is required", shown.join("-")))
            })
    }

    /// The device protocol version the app says it speaks (1 without the header).
    pub(super) fn protocol_version(&self) -> u32 {
        protocol::protocol_version(
            self.headers
                .get(protocol::HEADER_PROTOCOL_VERSION)
                .and_then(|v| v.to_str().ok()),
        )
    }

    pub(super) fn json<T: serde::de::DeserializeOwned>(&self) -> ApiResult<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            let what = match e.classify() {
                serde_json::error::Category::Data => "a field is missing or has the wrong type",
                _ => "the body is not valid JSON",
            };
            ApiError::invalid_request(format!("{what} (line {}, column {})", e.line(), e.column()))
        })
    }

    /// Checks the timestamp window and the signature with `public_key`; returns the timestamp
    /// and the nonce.
    pub(super) fn verify(
        &self,
        app: &AppState,
        device_id: &str,
        public_key: &[u8],
    ) -> ApiResult<(u64, String)> {
        let timestamp: u64 = self
            .header(protocol::HEADER_TIMESTAMP)?
            .parse()
            .map_err(|_| {
                ApiError::invalid_request("the Authcore-Timestamp header must be unix seconds")
            })?;
        let nonce = self.header(protocol::HEADER_NONCE)?;
        if !protocol::valid_nonce(nonce) {
            return Err(ApiError::invalid_request(
                "the Authcore-Nonce header must be 16 to 64 characters of A-Z a-z 0-9 - _",
            ));
        }
        let signature = data_encoding::BASE64URL_NOPAD
            .decode(self.header(protocol::HEADER_SIGNATURE)?.as_bytes())
            .map_err(|_| {
                ApiError::invalid_request("the Authcore-Signature header must be base64url")
            })?;
        let now = app.clock.now();
        if timestamp.abs_diff(now) > protocol::MAX_CLOCK_SKEW_S {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::StaleRequest,
                "the request time is more than 5 minutes from the server's; check the phone's clock",
            )
            .server_time(now));
        }
        let message = protocol::request_message(&RequestParts {
            method: &self.method,
            path_and_query: &self.target,
            body: &self.body,
            timestamp,
            nonce,
            device_id,
        })
        .map_err(|e| ApiError::invalid_request(e.to_string()))?;
        protocol::verify_p256(public_key, &message, &signature).map_err(|_| invalid_signature())?;
        Ok((timestamp, nonce.to_owned()))
    }

    /// The registered device that signed this request (timestamp, signature and a fresh nonce).
    /// The nonce's write also records when the device was seen and the protocol version it
    /// speaks now.
    pub(super) async fn authenticate(&self, app: &AppState) -> ApiResult<(Device, u64)> {
        let device_id = self.header(protocol::HEADER_DEVICE_ID)?;
        if !protocol::valid_id(device_id) {
            return Err(unknown_device());
        }
        let device = app
            .store
            .device(device_id)
            .await?
            .ok_or_else(unknown_device)?;
        let (timestamp, nonce) = self.verify(app, &device.id, &device.public_key)?;
        let now = app.clock.now();
        let keep_until = timestamp.max(now) + protocol::MAX_CLOCK_SKEW_S + 1;
        if !app
            .store
            .use_device_nonce(&device.id, &nonce, keep_until, now, self.protocol_version())
            .await?
        {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::ReplayedRequest,
                "this request was already received (its nonce was used before)",
            ));
        }
        Ok((device, timestamp))
    }
}
