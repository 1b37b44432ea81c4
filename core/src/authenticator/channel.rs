//! The signed device channel: every request this phone sends to an identity server, signed with
//! the account's device key (docs/protocol.md "Signed device requests"; the messages are
//! [`crate::device_protocol`]), over the one [`HttpClient`]. Enrollment and approvals both go
//! through [`DeviceChannel::send`]; answers decode through [`crate::transport`] into
//! [`AuthenticatorError`].

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use authcore_protocol::ErrorCode;
use data_encoding::BASE64URL_NOPAD;
use serde::de::DeserializeOwned;

use super::AuthenticatorError;
use crate::device_keys::DeviceKeys;
use crate::device_protocol::{self as protocol, RequestParts};
use crate::http::{HttpClient, Method, Request, Response};
use crate::transport::{self, ErrorAnswer, TransportError};

/// Who signs: a server, the device id it gave this phone (empty before activation) and the alias
/// of the key in [`DeviceKeys`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Signer<'a> {
    pub server_url: &'a str,
    pub device_id: &'a str,
    pub key_alias: &'a str,
}

pub(super) struct DeviceChannel {
    http: HttpClient,
    keys: Arc<dyn DeviceKeys>,
    /// Server clock minus ours, learned from a `stale_request` answer.
    clock_offset: AtomicI64,
}

impl DeviceChannel {
    pub fn new(http: HttpClient, keys: Arc<dyn DeviceKeys>) -> Self {
        DeviceChannel {
            http,
            keys,
            clock_offset: AtomicI64::new(0),
        }
    }

    /// Signs `message` with the signer's key, base64url (a decision's second signature).
    pub fn sign(&self, signer: Signer<'_>, message: &[u8]) -> Result<String, AuthenticatorError> {
        Ok(BASE64URL_NOPAD.encode(&self.keys.sign(signer.key_alias, message)?))
    }

    /// A signed request whose body (JSON bytes of a protocol request) is built for the request's
    /// timestamp (a decision signs that too). A `stale_request` answer corrects this phone's clock from the server's `server_time`,
    /// and the request is built and signed again, once, with a fresh timestamp and nonce.
    pub async fn send(
        &self,
        signer: Signer<'_>,
        method: Method,
        path: &str,
        body: impl Fn(u64) -> Result<Option<Vec<u8>>, AuthenticatorError>,
    ) -> Result<Response, AuthenticatorError> {
        let first = self.send_at(signer, method, path, &body).await?;
        if stale_server_time(&first).is_some() {
            return self.send_at(signer, method, path, &body).await;
        }
        Ok(first)
    }

    async fn send_at(
        &self,
        signer: Signer<'_>,
        method: Method,
        path: &str,
        body: &impl Fn(u64) -> Result<Option<Vec<u8>>, AuthenticatorError>,
    ) -> Result<Response, AuthenticatorError> {
        let timestamp = self.now();
        let bytes = body(timestamp)?.unwrap_or_default();
        let nonce = protocol::new_nonce();
        let method_name = match method {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        };
        let message = protocol::request_message(&RequestParts {
            method: method_name,
            path_and_query: path,
            body: &bytes,
            timestamp,
            nonce: &nonce,
            device_id: signer.device_id,
        })
        .map_err(|_| TransportError::protocol("the request could not be signed"))?;
        let signature = self.sign(signer, &message)?;
        let url = format!("{}{path}", signer.server_url);
        let mut request = match method {
            Method::Post => Request::post_json(url, bytes),
            _ => Request::get(url),
        };
        request.method = method;
        if !signer.device_id.is_empty() {
            request = request.with_header(protocol::HEADER_DEVICE_ID, signer.device_id);
        }
        request = request
            .with_header(
                protocol::HEADER_PROTOCOL_VERSION,
                protocol::PROTOCOL_VERSION.to_string(),
            )
            .with_header(protocol::HEADER_TIMESTAMP, timestamp.to_string())
            .with_header(protocol::HEADER_NONCE, nonce)
            .with_header(protocol::HEADER_SIGNATURE, signature);
        let response = self
            .http
            .send(&request)
            .await
            .map_err(TransportError::from)?;
        if let Some(server_time) = stale_server_time(&response) {
            let ours = i64::try_from(self.now()).unwrap_or(i64::MAX)
                - self.clock_offset.load(Ordering::Relaxed);
            let offset = i64::try_from(server_time).unwrap_or(i64::MAX) - ours;
            self.clock_offset.store(offset, Ordering::Relaxed);
        }
        Ok(response)
    }

    /// This phone's clock (unix seconds), corrected by what the server said.
    pub fn now(&self) -> u64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        now.saturating_add_signed(self.clock_offset.load(Ordering::Relaxed))
    }
}

fn stale_server_time(response: &Response) -> Option<u64> {
    if response.status != 401 {
        return None;
    }
    let answer = transport::refusal(response).ok()?;
    if answer.body.error == ErrorCode::StaleRequest {
        answer.body.server_time
    } else {
        None
    }
}

/// The JSON answer of a device API call, or its typed error.
pub(super) fn expect<T: DeserializeOwned>(
    response: &Response,
    status: u16,
) -> Result<T, AuthenticatorError> {
    transport::expect_json(response, status)
}

/// The device API's `error` codes (docs/protocol.md "Authenticator devices and push approval").
impl From<ErrorAnswer> for AuthenticatorError {
    fn from(answer: ErrorAnswer) -> Self {
        match answer.body.error {
            ErrorCode::InvalidActivationCode => AuthenticatorError::InvalidActivationCode,
            ErrorCode::Expired => AuthenticatorError::Expired,
            ErrorCode::AlreadyAnswered => AuthenticatorError::AlreadyAnswered,
            ErrorCode::UnknownRequest => AuthenticatorError::UnknownRequest,
            ErrorCode::UnknownDevice => AuthenticatorError::DeviceRemoved,
            ErrorCode::NumberMismatch => AuthenticatorError::NumberMismatch,
            ErrorCode::UpgradeRequired => AuthenticatorError::UpgradeRequired,
            ErrorCode::SlowDown => AuthenticatorError::RateLimited {
                retry_after: answer.retry_after(),
            },
            ErrorCode::StaleRequest => {
                TransportError::protocol("this phone's clock is too far off").into()
            }
            ErrorCode::InvalidSignature | ErrorCode::ReplayedRequest => {
                TransportError::protocol("the server refused this phone's signature").into()
            }
            _ => TransportError::Server {
                status: answer.status,
            }
            .into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn answer(status: u16, body: &str, retry_after: Option<u64>) -> Response {
        Response {
            status,
            body: body.as_bytes().to_vec(),
            retry_after,
        }
    }

    fn refused(status: u16, body: &str) -> AuthenticatorError {
        expect::<Value>(&answer(status, body, None), 200).unwrap_err()
    }

    #[test]
    fn device_api_errors_are_typed() {
        assert_eq!(
            refused(404, r#"{"error":"unknown_request"}"#),
            AuthenticatorError::UnknownRequest
        );
        assert_eq!(
            refused(409, r#"{"error":"already_answered"}"#),
            AuthenticatorError::AlreadyAnswered
        );
        assert_eq!(
            refused(410, r#"{"error":"expired"}"#),
            AuthenticatorError::Expired
        );
        assert_eq!(
            refused(400, r#"{"error":"number_mismatch"}"#),
            AuthenticatorError::NumberMismatch
        );
        assert_eq!(
            refused(401, r#"{"error":"unknown_device"}"#),
            AuthenticatorError::DeviceRemoved
        );
        assert_eq!(
            refused(400, r#"{"error":"invalid_activation_code"}"#),
            AuthenticatorError::InvalidActivationCode
        );
        assert_eq!(
            refused(426, r#"{"error":"upgrade_required"}"#),
            AuthenticatorError::UpgradeRequired
        );
        assert_eq!(
            AuthenticatorError::UpgradeRequired.to_string(),
            "this app must be updated to approve sign-ins; update it from the app store"
        );
        // retry_after from the body, else the header, else 1
        assert_eq!(
            refused(429, r#"{"error":"slow_down","retry_after":9}"#),
            AuthenticatorError::RateLimited { retry_after: 9 }
        );
        assert_eq!(
            expect::<Value>(&answer(429, r#"{"error":"slow_down"}"#, Some(4)), 200).unwrap_err(),
            AuthenticatorError::RateLimited { retry_after: 4 }
        );
        assert_eq!(
            refused(429, r#"{"error":"slow_down"}"#),
            AuthenticatorError::RateLimited { retry_after: 1 }
        );
    }

    #[test]
    fn transport_failures_are_the_shared_ones() {
        let server = |status| AuthenticatorError::Transport(TransportError::Server { status });
        assert_eq!(refused(500, r#"{"error":"expired"}"#), server(500));
        assert_eq!(refused(404, "not json"), server(404));
        assert_eq!(refused(400, r#"{"error":"something_new"}"#), server(400));
        assert_eq!(refused(302, ""), server(302));
        assert_eq!(
            refused(200, r#"{"challenges":"#),
            AuthenticatorError::Transport(TransportError::protocol("truncated JSON"))
        );
        assert_eq!(
            refused(401, r#"{"error":"invalid_signature"}"#),
            AuthenticatorError::Transport(TransportError::protocol(
                "the server refused this phone's signature"
            ))
        );
        // the message is the transport's own
        assert_eq!(
            refused(503, "").to_string(),
            "the server answered with status 503"
        );
    }

    #[test]
    fn only_a_stale_request_answer_carries_the_server_clock() {
        let stale = r#"{"error":"stale_request","server_time":1767225600}"#;
        assert_eq!(
            stale_server_time(&answer(401, stale, None)),
            Some(1_767_225_600)
        );
        assert_eq!(stale_server_time(&answer(400, stale, None)), None);
        assert_eq!(
            stale_server_time(&answer(401, r#"{"error":"stale_request"}"#, None)),
            None
        );
        assert_eq!(
            stale_server_time(&answer(
                401,
                r#"{"error":"invalid_signature","server_time":1}"#,
                None
            )),
            None
        );
    }
}
