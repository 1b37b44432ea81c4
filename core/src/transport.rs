//! The one transport of every server call (sign-in, sessions, the authenticator): why a call got
//! no usable answer ([`TransportError`], the one conversion from [`HttpError`]) and the decoding of
//! JSON answers over [`Response`] (plain functions, CONVENTIONS.md 5). Each domain error embeds the
//! transport error and maps the server's `error` codes ([`ErrorAnswer`], the protocol's
//! [`ErrorBody`]) to its own variants, as libsignal's `RequestError<E>` does.

use authcore_protocol::ErrorBody;
use serde::de::DeserializeOwned;

use crate::http::{HttpError, Response};

/// The failures every server call shares: no answer (network, timeout, TLS, a refused URL) or an
/// answer the protocol does not allow. No variant carries a dependency's text or a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
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
}

impl TransportError {
    pub(crate) fn protocol(what: impl Into<String>) -> Self {
        TransportError::Protocol { what: what.into() }
    }
}

impl From<HttpError> for TransportError {
    fn from(error: HttpError) -> Self {
        match error {
            HttpError::InvalidUrl(url) => TransportError::InvalidUrl { url },
            HttpError::InsecureUrl { host } => TransportError::InsecureUrl { host },
            HttpError::InvalidRootCertificate => TransportError::InvalidRootCertificate,
            HttpError::Untrusted => TransportError::Untrusted,
            HttpError::Network { retryable } => TransportError::Network { retryable },
            HttpError::Timeout => TransportError::Timeout,
        }
    }
}

/// A refusal: a 4xx answer with a JSON `error` (docs/protocol.md "Errors"), read into the
/// protocol's [`ErrorBody`]. Each domain error is built `From` it.
pub(crate) struct ErrorAnswer {
    pub status: u16,
    /// The `Retry-After` header, when the body has no `retry_after`.
    retry_after_header: Option<u64>,
    pub body: ErrorBody,
}

impl ErrorAnswer {
    /// Seconds to wait: the body's `retry_after`, else the header, else 1.
    pub fn retry_after(&self) -> u64 {
        self.body
            .retry_after
            .or(self.retry_after_header)
            .unwrap_or(1)
    }
}

/// Decodes the expected success answer, or turns anything else into the domain's typed error.
pub(crate) fn expect_json<T, E>(response: &Response, expected: u16) -> Result<T, E>
where
    T: DeserializeOwned,
    E: From<TransportError> + From<ErrorAnswer>,
{
    if response.status == expected {
        return serde_json::from_slice(&response.body).map_err(|e| {
            E::from(if e.is_eof() {
                TransportError::protocol("truncated JSON")
            } else {
                TransportError::protocol(format!("unexpected answer ({})", classify_text(&e)))
            })
        });
    }
    Err(E::from(refusal(response)?))
}

/// An error answer's body. A 5xx (or any status without a JSON error object) is a server failure.
pub(crate) fn refusal(response: &Response) -> Result<ErrorAnswer, TransportError> {
    let server = TransportError::Server {
        status: response.status,
    };
    if response.status >= 500 || response.status < 400 {
        return Err(server);
    }
    // An unknown `error` code (or no JSON error object) is a failure, not a refusal.
    let body: ErrorBody = serde_json::from_slice(&response.body).map_err(|_| server)?;
    Ok(ErrorAnswer {
        status: response.status,
        retry_after_header: response.retry_after,
        body,
    })
}

fn classify_text(error: &serde_json::Error) -> &'static str {
    match error.classify() {
        serde_json::error::Category::Io => "unreadable",
        serde_json::error::Category::Syntax => "malformed JSON",
        serde_json::error::Category::Data => "missing or mistyped fields",
        serde_json::error::Category::Eof => "truncated JSON",
    }
}
