//! The one HTTP client of the core (CONVENTIONS.md 5 and 6): hyper's HTTP/1 client connections
//! with a keep-alive pool per origin ([`conn`]) over rustls with the ring provider, the platform's
//! certificate verifier on Android and iOS and public web roots elsewhere, plus an optional extra
//! root CA and SPKI pins on every platform ([`trust`]), connect and request timeouts (the request
//! timeout covers reading the whole body), https only except to loopback, and retries with
//! jittered backoff only for idempotent requests that failed before a response arrived. No
//! redirects are followed and no proxy is used.
//!
//! Protocol modules build [`Request`]s and read [`Response`]s; nothing else touches the network.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Body as _;
use ring::rand::{SecureRandom, SystemRandom};

mod conn;
mod trust;
#[cfg(target_os = "android")]
pub use trust::android;

/// How the client connects. `Default` is what apps want: the platform's roots (Android, iOS) or the
/// public ones, 10 s to connect, 30 s per request, two retries.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// PEM root certificates to trust besides the platform's or public roots (a test or private CA).
    pub extra_root_ca_pem: Option<Vec<u8>>,
    /// SHA-256 digests of acceptable server SubjectPublicKeyInfo; when non-empty, the leaf
    /// certificate's key must match one of them (on top of normal validation).
    pub spki_pins: Vec<[u8; 32]>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Further attempts for idempotent requests after a network failure.
    pub max_retries: u32,
    /// First backoff; each retry waits a random time up to `backoff * 2^attempt`.
    pub backoff: Duration,
    /// Host names resolved to fixed addresses instead of DNS (split-horizon deployments, tests).
    /// The URL's port is still the one used; TLS still verifies the host name.
    pub resolve: Vec<(String, std::net::IpAddr)>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            extra_root_ca_pem: None,
            spki_pins: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_retries: 2,
            backoff: Duration::from_millis(200),
            resolve: Vec::new(),
        }
    }
}

/// Why a request got no usable answer. Texts never carry a dependency's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error("`{0}` is not a valid URL")]
    InvalidUrl(String),
    /// Plain http to anything but loopback is refused before any request is made.
    #[error("refusing plain http to {host}: only https is allowed outside loopback")]
    InsecureUrl { host: String },
    #[error("the extra root certificate is not a valid PEM certificate")]
    InvalidRootCertificate,
    /// The server's certificate is not trusted or does not match a pin.
    #[error("the server's certificate is not trusted")]
    Untrusted,
    /// No response: refused, reset, closed early or cut off mid-body.
    #[error("the network failed")]
    Network { retryable: bool },
    #[error("the server did not answer in time")]
    Timeout,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Patch,
    Delete,
}

/// A request as protocol code describes it.
#[derive(Debug)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub body: Body,
    /// Sent as `Authorization: Bearer ...`; redacted in `Debug`.
    pub bearer: Option<Bearer>,
    /// Extra headers (e.g. a device's request signature).
    pub headers: Vec<(String, String)>,
    /// May this request be sent again if it failed before a response? GETs and DELETEs always;
    /// a POST only when the protocol makes it safe.
    pub idempotent: bool,
}

impl Request {
    pub fn get(url: impl Into<String>) -> Self {
        Request {
            method: Method::Get,
            url: url.into(),
            body: Body::Empty,
            bearer: None,
            headers: Vec::new(),
            idempotent: true,
        }
    }

    pub fn post_form(url: impl Into<String>, fields: Vec<(String, String)>) -> Self {
        Request {
            method: Method::Post,
            url: url.into(),
            body: Body::Form(Redacted(fields)),
            bearer: None,
            headers: Vec::new(),
            idempotent: false,
        }
    }

    pub fn post_json(url: impl Into<String>, json: Vec<u8>) -> Self {
        Request {
            method: Method::Post,
            url: url.into(),
            body: Body::Json(Redacted(json)),
            bearer: None,
            headers: Vec::new(),
            idempotent: false,
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    pub fn with_bearer(mut self, token: impl Into<String>) -> Self {
        self.bearer = Some(Bearer(zeroize::Zeroizing::new(token.into())));
        self
    }
}

#[derive(Debug)]
pub enum Body {
    Empty,
    Form(Redacted<Vec<(String, String)>>),
    Json(Redacted<Vec<u8>>),
}

/// A request body: it carries passwords and codes, so `Debug` shows nothing of it.
pub struct Redacted<T>(pub T);

impl<T> std::fmt::Debug for Redacted<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

pub struct Bearer(zeroize::Zeroizing<String>);

impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bearer(<redacted>)")
    }
}

/// A complete response: every status is a response; deciding what it means is protocol code's job.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
    /// The `Retry-After` header in seconds, when the server sent one.
    pub retry_after: Option<u64>,
}

/// Checks a URL against the transport policy: https, or http to a loopback host.
pub fn check_url(url: &str) -> Result<url::Url, HttpError> {
    let parsed = url::Url::parse(url).map_err(|_| HttpError::InvalidUrl(crate::echo(url)))?;
    let host = parsed
        .host_str()
        .ok_or_else(|| HttpError::InvalidUrl(crate::echo(url)))?
        .to_owned();
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if is_loopback(&host) => Ok(parsed),
        "http" => Err(HttpError::InsecureUrl { host }),
        _ => Err(HttpError::InvalidUrl(crate::echo(url))),
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The client. Cheap to clone; share one per server (clones share its connections).
#[derive(Clone)]
pub struct HttpClient {
    tls: tokio_rustls::TlsConnector,
    pool: Arc<conn::Pool>,
    config: Arc<HttpConfig>,
}

impl HttpClient {
    pub fn new(config: HttpConfig) -> Result<Self, HttpError> {
        let mut tls = trust::tls_config(&config)?;
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(HttpClient {
            tls: tokio_rustls::TlsConnector::from(Arc::new(tls)),
            pool: Arc::default(),
            config: Arc::new(config),
        })
    }

    /// Sends `request`, retrying an idempotent one after a retryable network failure.
    pub async fn send(&self, request: &Request) -> Result<Response, HttpError> {
        let url = check_url(&request.url)?;
        let mut attempt = 0;
        loop {
            let once =
                tokio::time::timeout(self.config.request_timeout, self.send_once(request, &url));
            match once.await.unwrap_or(Err(HttpError::Timeout)) {
                Err(HttpError::Network { retryable: true })
                    if request.idempotent && attempt < self.config.max_retries =>
                {
                    tokio::time::sleep(jitter(self.config.backoff, attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// One exchange, the response body read whole; on a pooled connection the server closed
    /// meanwhile, a request hyper hands back unsent goes out again on a new connection.
    async fn send_once(&self, request: &Request, url: &url::Url) -> Result<Response, HttpError> {
        let origin = conn::Origin::of(url)
            .ok_or_else(|| HttpError::InvalidUrl(crate::echo(url.as_str())))?;
        let mut message = head(request, url, &origin)?;
        let (response, conn) = loop {
            let mut conn = match self.pool.checkout(&origin).await {
                Some(conn) => conn,
                None => conn::connect(&origin, &self.config, &self.tls).await?,
            };
            match conn.sender.try_send_request(message).await {
                Ok(response) => break (response, conn),
                Err(mut failed) => match failed.take_message() {
                    Some(unsent) if conn.reused => message = unsent,
                    _ => return Err(conn::classify(failed.error())),
                },
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(hyper::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let mut incoming = response.into_body();
        let mut body = Vec::new();
        while let Some(frame) =
            std::future::poll_fn(|cx| std::pin::Pin::new(&mut incoming).poll_frame(cx)).await
        {
            if let Ok(data) = frame.map_err(|e| conn::classify(&e))?.into_data() {
                body.extend_from_slice(&data);
            }
        }
        self.pool.put_back(origin, conn);
        Ok(Response {
            status,
            body,
            retry_after,
        })
    }
}

/// The request as hyper sends it: origin-form target, `Host`, the client's and the caller's
/// headers, the body with its content type. A header that is not valid HTTP (protocol code never
/// builds one) fails here, before any I/O.
fn head(
    request: &Request,
    url: &url::Url,
    origin: &conn::Origin,
) -> Result<hyper::Request<conn::Payload>, HttpError> {
    use hyper::header::{self, HeaderName, HeaderValue};
    fn invalid<E>(_: E) -> HttpError {
        HttpError::Network { retryable: false }
    }
    let mut fixed = vec![
        (header::HOST, origin.authority()),
        (
            header::USER_AGENT,
            concat!("authcore/", env!("CARGO_PKG_VERSION")).to_owned(),
        ),
        (header::ACCEPT, "application/json".to_owned()),
    ];
    let body = match &request.body {
        Body::Empty => Vec::new(),
        Body::Form(Redacted(fields)) => {
            let form = "application/x-www-form-urlencoded";
            fixed.push((header::CONTENT_TYPE, form.to_owned()));
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(fields)
                .finish()
                .into_bytes()
        }
        Body::Json(Redacted(json)) => {
            fixed.push((header::CONTENT_TYPE, "application/json".to_owned()));
            json.clone()
        }
    };
    let target = &url[url::Position::BeforePath..url::Position::AfterQuery];
    let mut message = hyper::Request::new(conn::Payload::new(body));
    *message.method_mut() = match request.method {
        Method::Get => hyper::Method::GET,
        Method::Post => hyper::Method::POST,
        Method::Patch => hyper::Method::PATCH,
        Method::Delete => hyper::Method::DELETE,
    };
    *message.uri_mut() = target.parse().map_err(invalid)?;
    let headers = message.headers_mut();
    for (name, value) in fixed {
        headers.append(name, HeaderValue::try_from(value).map_err(invalid)?);
    }
    if let Some(Bearer(token)) = &request.bearer {
        let text = zeroize::Zeroizing::new(format!("Bearer {}", token.as_str()));
        let mut value = HeaderValue::from_str(&text).map_err(invalid)?;
        value.set_sensitive(true);
        headers.append(header::AUTHORIZATION, value);
    }
    for (name, value) in &request.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(invalid)?;
        headers.append(name, HeaderValue::from_str(value).map_err(invalid)?);
    }
    Ok(message)
}

fn jitter(base: Duration, attempt: u32) -> Duration {
    let cap = base.saturating_mul(1 << attempt.min(10));
    let mut random = [0u8; 4];
    if SystemRandom::new().fill(&mut random).is_err() {
        return cap;
    }
    // cap * random / u32::MAX in integers (no float, no overflow panic for a huge backoff).
    let nanos = cap.as_nanos() * u128::from(u32::from_be_bytes(random)) / u128::from(u32::MAX);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// The DER SubjectPublicKeyInfo of an X.509 certificate: Certificate -> tbsCertificate ->
/// [version], serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo.
pub fn spki_of(cert_der: &[u8]) -> Option<&[u8]> {
    let (certificate, _) = der_element(cert_der)?;
    let (tbs, _) = der_element(der_contents(certificate)?)?;
    let mut rest = der_contents(tbs)?;
    if rest.first() == Some(&0xa0) {
        rest = der_element(rest)?.1; // explicit [0] version
    }
    for _ in 0..5 {
        rest = der_element(rest)?.1; // serial, signature, issuer, validity, subject
    }
    der_element(rest).map(|(spki, _)| spki)
}

/// Splits one DER element (tag, length, contents) off the front of `bytes`.
fn der_element(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let first_len = *bytes.get(1)?;
    let (header, len) = if first_len < 0x80 {
        (2, usize::from(first_len))
    } else {
        let count = usize::from(first_len & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let len = bytes
            .get(2..2 + count)?
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (2 + count, len)
    };
    let end = header.checked_add(len)?;
    Some((bytes.get(..end)?, bytes.get(end..)?))
}

fn der_contents(element: &[u8]) -> Option<&[u8]> {
    let first_len = *element.get(1)?;
    let header = if first_len < 0x80 {
        2
    } else {
        2 + usize::from(first_len & 0x7f)
    };
    element.get(header..)
}
