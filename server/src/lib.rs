//! authcore-server: the reference identity service that speaks `docs/protocol.md`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), authcore_server::ServerError> {
//! use authcore_server::{Config, ServerOptions};
//! let config = Config::load("server/examples/demo.toml".as_ref())?;
//! let options = ServerOptions::new(config, "sqlite::memory:", "127.0.0.1:0".parse().unwrap());
//! let server = authcore_server::start(options).await?;
//! println!("listening on {}", server.base_url());
//! server.shutdown().await;
//! # Ok(()) }
//! ```

mod account;
mod admin;
mod attestation;
pub mod config;
mod connections;
mod devices;
mod error;
mod extract;
mod jose;
pub mod keys;
pub mod logging;
mod oidc;
mod openapi;
mod outbox;
mod passwords;
mod push;
mod routes;
pub mod secrets;
mod security;
mod signin;
mod step_up;
pub mod store;
mod throttle;
mod tokens;

use authcore_protocol::discovery::Discovery;
use authcore_protocol::paths;
use authcore_protocol::ErrorCode;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};

pub use config::{Config, ConfigError};
pub use error::ApiError;

use passwords::Passwords;
use secrets::CodeHasher;
use store::sqlite::SqliteStore;
use store::{OutboxStore, Store};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("database {url}: {reason}")]
    Database { url: String, reason: String },
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: SocketAddr, reason: String },
    #[error("TLS: {0}")]
    Tls(String),
    #[error("{0}")]
    Setup(String),
}

/// The server's notion of now (unix seconds). Tests move it forward to expire codes and
/// sessions without waiting.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> u64 {
        let system = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let offset = self.offset.load(Ordering::Relaxed);
        system.saturating_add_signed(offset)
    }

    /// Moves this clock (and every server sharing it) forward.
    pub fn advance(&self, seconds: i64) {
        self.offset.fetch_add(seconds, Ordering::Relaxed);
    }
}

/// Everything `authcore server` takes.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub config: Config,
    /// `sqlite://authcore.db` or `sqlite::memory:`.
    pub db_url: String,
    pub listen: SocketAddr,
    /// Seeds the config's dev users, records messages and serves `GET /dev/outbox`.
    pub dev: bool,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub clock: Clock,
}

impl ServerOptions {
    pub fn new(config: Config, db_url: &str, listen: SocketAddr) -> Self {
        ServerOptions {
            config,
            db_url: db_url.to_owned(),
            listen,
            dev: false,
            tls_cert: None,
            tls_key: None,
            clock: Clock::default(),
        }
    }
}

pub(crate) struct App {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub hasher: CodeHasher,
    pub passwords: Passwords,
    pub clock: Clock,
    pub dev: bool,
    pub issuer: String,
    pub throttle: throttle::Throttle,
    pub outbox: Arc<tokio::sync::Notify>,
    /// Wakes long-polls of devices, sign-ins and enrollment screens.
    pub hub: push::Hub,
    /// Wakes devices for a new push request (`None`: they long-poll).
    pub push_sender: Option<Arc<dyn push::PushSender>>,
    /// Device attestation trust roots (`[attestation]`).
    pub attestation: attestation::Verifier,
    /// The ID-token signing keys (`[[id_token_keys]]`).
    pub id_keys: oidc::IdTokenKeys,
    /// The upstream OpenID providers' documents (cached).
    pub upstreams: oidc::Upstreams,
}

pub(crate) type AppState = Arc<App>;

/// A server running in this process.
pub struct RunningServer {
    addr: SocketAddr,
    base_url: String,
    shutdown: Box<dyn FnOnce() + Send + Sync>,
    serving: tokio::task::JoinHandle<()>,
    worker: tokio::task::JoinHandle<()>,
    store: Arc<SqliteStore>,
    clock: Clock,
}

impl RunningServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (https with TLS).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The newest `limit` messages queued for `recipient`, oldest first: what
    /// `GET /dev/outbox?to=` shows with `--dev`, read in-process (benchmarks read codes this way).
    pub async fn messages_to(
        &self,
        recipient: &str,
        limit: u32,
    ) -> Result<Vec<store::OutboxRecord>, store::StoreError> {
        self.store.messages(Some(recipient), limit).await
    }

    /// Stops accepting, lets in-flight requests finish, stops the outbox and closes the database.
    pub async fn shutdown(self) {
        (self.shutdown)();
        let _ = self.serving.await;
        self.worker.abort();
        let _ = self.worker.await;
        self.store.close().await;
    }
}

/// Starts the server in this process and returns once it is listening.
pub async fn start(options: ServerOptions) -> Result<RunningServer, ServerError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let db_error = |reason: String| ServerError::Database {
        url: options.db_url.clone(),
        reason,
    };
    let server_key = server_key_of(&options)?;
    tracing::info!(source = %server_key.source, "server key loaded");
    let store = Arc::new(
        SqliteStore::open_sealed(&options.db_url, &server_key)
            .await
            .map_err(|e| db_error(e.to_string()))?,
    );
    drop(server_key);
    let key = store
        .server_key()
        .await
        .map_err(|e| db_error(e.to_string()))?;
    let passwords = Passwords::new(&options.config.argon2).map_err(ServerError::Setup)?;
    let id_keys = oidc::IdTokenKeys::load(
        &options.config.id_token_keys,
        oidc::default_key_file(&options.db_url).as_deref(),
    )
    .map_err(ServerError::Setup)?;
    tracing::info!(source = %id_keys.source, kids = ?id_keys.kids(), "ID-token keys loaded");

    let listener =
        std::net::TcpListener::bind(options.listen).map_err(|e| ServerError::Listen {
            addr: options.listen,
            reason: e.to_string(),
        })?;
    listener
        .set_nonblocking(true)
        .map_err(|e| ServerError::Setup(e.to_string()))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServerError::Setup(e.to_string()))?;
    let tls = options.tls_cert.is_some() || options.tls_key.is_some();
    let scheme = if tls { "https" } else { "http" };
    let base_url = format!("{scheme}://{addr}");

    let app = Arc::new(App {
        issuer: options
            .config
            .issuer
            .clone()
            .unwrap_or_else(|| base_url.clone()),
        throttle: throttle::Throttle::new(&options.config.throttle),
        config: options.config.clone(),
        store: store.clone(),
        hasher: CodeHasher::new(&key),
        passwords,
        clock: options.clock.clone(),
        dev: options.dev,
        outbox: Arc::new(tokio::sync::Notify::new()),
        hub: push::Hub::default(),
        push_sender: push::sender_of(&options.config.push_sender, &options.clock)
            .map_err(ServerError::Setup)?,
        attestation: attestation::Verifier::load(&options.config.attestation)
            .map_err(ServerError::Setup)?,
        id_keys,
        upstreams: oidc::Upstreams::new(options.clock.clone()),
    });
    if options.dev {
        account::seed_dev_users(&app)
            .await
            .map_err(|e| ServerError::Setup(format!("seeding dev users: {e}")))?;
    }
    let worker = tokio::spawn(outbox::deliver_forever(app.clone()));
    let router = router(app.clone());
    let acceptor = if tls {
        let (Some(cert), Some(key)) = (&options.tls_cert, &options.tls_key) else {
            return Err(ServerError::Tls(
                "--tls-cert and --tls-key go together".into(),
            ));
        };
        Some(tokio_rustls::TlsAcceptor::from(Arc::new(tls_config(
            cert, key,
        )?)))
    } else {
        None
    };
    let listener = tokio::net::TcpListener::from_std(listener)
        .map_err(|e| ServerError::Setup(e.to_string()))?;
    let (shutdown, serving) = connections::serve(
        listener,
        acceptor,
        router,
        connections::Limits::from(&options.config.http),
    );
    tracing::info!(%addr, tls, dev = options.dev, "listening");
    Ok(RunningServer {
        addr,
        base_url,
        shutdown,
        serving,
        worker,
        store,
        clock: options.clock,
    })
}

/// The server key: `$AUTHCORE_SERVER_KEY`, else `server_key_file`, else `<database file>.key`
/// for a file database, else (in-memory database) a random key for this process.
fn server_key_of(options: &ServerOptions) -> Result<keys::ServerKey, ServerError> {
    let env = std::env::var(keys::KEY_ENV).ok().filter(|v| !v.is_empty());
    let file = options
        .config
        .server_key_file
        .clone()
        .or_else(|| keys::default_key_file(&options.db_url));
    keys::ServerKey::load(env.as_deref(), file.as_deref()).map_err(ServerError::Setup)
}

/// Runs until `shutdown` resolves: prints `listening on URL` once ready, then shuts down
/// gracefully (in-flight requests finish).
pub async fn run(
    options: ServerOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    let server = start(options).await?;
    println!("listening on {}", server.base_url());
    shutdown.await;
    server.shutdown().await;
    Ok(())
}

fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<rustls::ServerConfig, ServerError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| ServerError::Tls(format!("{}: {e}", cert.display())))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| ServerError::Tls(format!("{}: {e}", key.display())))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| ServerError::Tls(e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| ServerError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn router(app: AppState) -> Router {
    routes::routes(app.dev)
        .into_iter()
        .fold(Router::new(), |router, (path, handlers)| {
            router.route(path, handlers)
        })
        .fallback(|| async { ApiError::not_found() })
        .layer(axum::middleware::from_fn(log_and_shape))
        .with_state(app)
}

/// Around every request: a request id (an `x-request-id` header and the `request_id` field of
/// the request's span, so every log line of the request carries it), one log line per request
/// (method, route, status, time; never bodies, queries or headers), security events at INFO,
/// every refusal shaped as the protocol's JSON error, and `Cache-Control: no-store` on every
/// answer but the public documents.
async fn log_and_shape(request: Request, next: Next) -> Response {
    use tracing::Instrument;
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(unmatched)".to_owned(), |p| p.as_str().to_owned());
    let public = matches!(
        request.uri().path(),
        paths::DISCOVERY | paths::OPENAPI | paths::JWKS
    );
    let request_id = data_encoding::HEXLOWER.encode(&secrets::random_bytes(8));
    let span = tracing::info_span!("request", request_id = %request_id);
    async move {
        let started = std::time::Instant::now();
        let response = next.run(request).await;
        let mut response = json_refusal(response, &method).await;
        let headers = response.headers_mut();
        if let Ok(value) = axum::http::HeaderValue::from_str(&request_id) {
            headers.insert("x-request-id", value);
        }
        if !public {
            headers.insert(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
        }
        let status = response.status();
        let error = response
            .extensions()
            .get::<error::LoggedError>()
            .map(|e| e.0.as_str());
        if let Some(event) = security_event(&method, &route, status, error) {
            tracing::info!(
                event,
                %method,
                route,
                status = status.as_u16(),
                error = error.unwrap_or(""),
                "security event"
            );
        }
        tracing::info!(
            %method,
            route,
            status = status.as_u16(),
            micros = started.elapsed().as_micros() as u64,
            "request"
        );
        response
    }
    .instrument(span)
    .await
}

/// A refusal that is not already the protocol's JSON error (axum's own rejections: malformed
/// path, query or body, wrong content type, oversize body, unknown method) becomes one. The
/// original text is not passed on: it can quote what the client sent.
async fn json_refusal(response: Response, method: &axum::http::Method) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if is_json {
        return response;
    }
    let description = match status {
        StatusCode::NOT_FOUND => return ApiError::not_found().into_response(),
        StatusCode::METHOD_NOT_ALLOWED => format!("{method} is not allowed here"),
        StatusCode::PAYLOAD_TOO_LARGE => "the body is over 64 KiB".to_owned(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "the Content-Type is not the one expected".to_owned(),
        StatusCode::UNPROCESSABLE_ENTITY => "the body does not have the expected fields".to_owned(),
        StatusCode::REQUEST_TIMEOUT => "the request did not arrive in time".to_owned(),
        _ if status.is_server_error() => {
            tracing::error!(status = status.as_u16(), "a handler failed");
            return ApiError::unavailable().into_response();
        }
        _ => "the request is malformed (path, query or body)".to_owned(),
    };
    let mut shaped = ApiError::new(status, ErrorCode::InvalidRequest, description).into_response();
    if let Some(allow) = response.headers().get(axum::http::header::ALLOW) {
        shaped
            .headers_mut()
            .insert(axum::http::header::ALLOW, allow.clone());
    }
    shaped
}

/// The security event a request stands for, by route and outcome (logged at INFO with the
/// request id; never the user's data or secrets).
fn security_event(
    method: &axum::http::Method,
    route: &str,
    status: StatusCode,
    error: Option<&str>,
) -> Option<&'static str> {
    use axum::http::Method;
    match error {
        Some(
            "wrong_credential"
            | "number_mismatch"
            | "invalid_activation_code"
            | "invalid_grant"
            | "invalid_signature"
            | "replayed_request"
            | "stale_request"
            | "unknown_device",
        ) => return Some("credential_refused"),
        Some("locked" | "push_blocked" | "slow_down") => return Some("rate_limited_or_locked"),
        Some("access_denied") => return Some("push_denied"),
        Some("invalid_token") if route != "(unmatched)" => return Some("invalid_token"),
        Some("insufficient_user_authentication") => return Some("step_up_required"),
        _ => {}
    }
    let ok = status.is_success();
    let event = match (method, route) {
        (&Method::POST, paths::AUTHORIZE_CHALLENGE) if ok => "sign_in_completed",
        (&Method::POST, paths::TOKEN) if !ok => "token_refused",
        (&Method::POST, paths::REVOKE) if ok => "token_revoked",
        (&Method::POST, paths::LOGOUT) if ok => "signed_out",
        (_, paths::END_SESSION) if ok || status.is_redirection() => "signed_out",
        (&Method::POST, paths::LOGOUT_ALL) if ok => "signed_out_everywhere",
        (&Method::POST, paths::TOTP) if ok => "totp_enrollment_started",
        (&Method::POST, paths::TOTP_CONFIRM) if ok => "totp_added",
        (&Method::POST, paths::TOTP_CONFIRM) => "totp_confirmation_refused",
        (&Method::POST, paths::BACKUP_CODES) if ok => "backup_codes_regenerated",
        (&Method::POST, paths::PASSWORD_FORGOT) if ok => "password_reset_requested",
        (&Method::POST, paths::PASSWORD_RESET) if ok => "password_reset",
        (&Method::POST, paths::PASSWORD_RESET) => "password_reset_refused",
        (&Method::POST, paths::AUTHENTICATORS) if ok => "authenticator_enrollment_started",
        (&Method::POST, paths::DEVICE_ACTIVATE) if ok => "authenticator_activated",
        (&Method::POST, paths::DEVICE_ACTIVATE) => "authenticator_activation_refused",
        (&Method::DELETE, paths::DEVICE) if ok => "device_removed",
        (&Method::PATCH, paths::DEVICE) if ok => "device_renamed",
        (&Method::POST, paths::DEVICE_CHALLENGE) if ok => "push_answered",
        (&Method::POST, paths::DEVICE_CHALLENGE) => "push_answer_refused",
        (&Method::POST, paths::DEVICE_PUSH_TOKEN) if ok => "push_token_updated",
        (&Method::POST, paths::APP_PASSWORDS) if ok => "app_password_created",
        (&Method::DELETE, paths::APP_PASSWORD) if ok => "app_password_revoked",
        (&Method::POST, paths::SECURITY_TOKEN) if ok => "security_token_reset",
        _ => return None,
    };
    Some(event)
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM: what both server binaries wait for before draining.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutting down: letting in-flight requests finish");
}

async fn discovery(State(app): State<AppState>) -> Json<Discovery> {
    Json(Discovery::for_issuer(&app.issuer))
}
