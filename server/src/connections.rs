//! The serve loop: HTTP/1.1 over hyper, plain or TLS, with the limits of `[http]`.
//!
//! - Header-read timeout: from accepting a connection (TLS handshake included), or from the first
//!   byte of a further request on a keep-alive connection, until the request's headers are in.
//!   Past it the connection is closed.
//! - Body timeout: from the end of the headers until the body is in. Past it the request answers
//!   `408 request_timeout` with `Connection: close`.
//! - Idle timeout: a keep-alive connection with no request in flight is closed after it.
//! - Connection cap: at `max_connections` open connections the loop stops accepting until one
//!   closes; new connections wait in the kernel's listen backlog (none is refused outright, so a
//!   burst of real users is served once slow clients time out).
//! - Graceful shutdown: stop accepting, let in-flight requests finish (idle connections close at
//!   once), give up after 10 s.
//!
//! A request in its handler (a long-poll) has no timeout here: the handler bounds it.

use authcore_protocol::ErrorCode;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use hyper::body::{Bytes, Frame, Incoming};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{watch, Notify, Semaphore};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

use crate::config::HttpConfig;
use crate::error::ApiError;

/// How long a graceful shutdown waits for in-flight requests.
const DRAIN: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    header_read: Duration,
    body: Duration,
    idle: Duration,
    max_connections: usize,
}

impl From<&HttpConfig> for Limits {
    fn from(c: &HttpConfig) -> Self {
        Limits {
            header_read: Duration::from_secs(c.header_read_timeout_s),
            body: Duration::from_secs(c.body_timeout_s),
            idle: Duration::from_secs(c.idle_timeout_s),
            max_connections: c.max_connections,
        }
    }
}

/// Serves `router` on `listener` until the returned stop function is called; the join handle
/// ends once every connection has finished (or the drain timed out).
pub(crate) fn serve(
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    router: Router,
    limits: Limits,
) -> (Box<dyn FnOnce() + Send + Sync>, tokio::task::JoinHandle<()>) {
    let (stop_tx, stop_rx) = watch::channel(false);
    let task = tokio::spawn(accept_loop(listener, tls, router, limits, stop_rx));
    let stop = move || {
        let _ = stop_tx.send(true);
    };
    (Box::new(stop), task)
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    router: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            _ = stop.wait_for(|s| *s) => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|s| *s) => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: wait a little instead of spinning.
                tracing::warn!(%error, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let tls = tls.clone();
        let router = router.clone();
        let stop = stop.clone();
        connections.spawn(async move {
            connection(stream, peer, tls, router, limits, stop).await;
            drop(permit);
        });
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let drained = tokio::time::timeout(DRAIN, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            left = connections.len(),
            "shutdown: connections still busy after the drain; closing them"
        );
        connections.abort_all();
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    tls: Option<tokio_rustls::TlsAcceptor>,
    router: Router,
    limits: Limits,
    stop: watch::Receiver<bool>,
) {
    let phase = Arc::new(PhaseClock::new());
    match tls {
        None => serve_connection(stream, peer, router, limits, stop, phase).await,
        Some(acceptor) => {
            // The handshake counts against the header-read time.
            let handshake = tokio::time::timeout(limits.header_read, acceptor.accept(stream));
            if let Ok(Ok(stream)) = handshake.await {
                serve_connection(stream, peer, router, limits, stop, phase).await;
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a request's headers (since the connection opened or its first byte came).
    Headers,
    /// A request is in the handler.
    Busy,
    /// Keep-alive, no request in flight.
    Idle,
}

/// Where a connection is, and since when; the watchdog sleeps until that phase's deadline.
struct PhaseClock {
    now: Mutex<(Phase, Instant)>,
    changed: Notify,
}

impl PhaseClock {
    fn new() -> Self {
        PhaseClock {
            now: Mutex::new((Phase::Headers, Instant::now())),
            changed: Notify::new(),
        }
    }

    fn get(&self) -> (Phase, Instant) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, phase: Phase) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = (phase, Instant::now());
        self.changed.notify_one();
    }

    /// Bytes arrived: an idle connection starts reading a request.
    fn bytes_arrived(&self) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        if now.0 == Phase::Idle {
            *now = (Phase::Headers, Instant::now());
            drop(now);
            self.changed.notify_one();
        }
    }
}

async fn serve_connection<I>(
    io: I,
    peer: SocketAddr,
    router: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
    phase: Arc<PhaseClock>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = {
        let phase = phase.clone();
        hyper::service::service_fn(move |request: Request<Incoming>| {
            let router = router.clone();
            let phase = phase.clone();
            async move {
                phase.set(Phase::Busy);
                let timed_out = Arc::new(AtomicBool::new(false));
                let (mut parts, body) = request.into_parts();
                parts.extensions.insert(ConnectInfo(peer));
                let finished = Arc::new(AtomicBool::new(http_body::Body::is_end_stream(&body)));
                let body = TimedBody {
                    inner: body,
                    deadline: Box::pin(tokio::time::sleep(limits.body)),
                    timed_out: timed_out.clone(),
                    finished: finished.clone(),
                };
                let request = Request::from_parts(parts, axum::body::Body::new(body));
                let mut response = match router.oneshot(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                if timed_out.load(Ordering::Relaxed) {
                    response = ApiError::new(
                        StatusCode::REQUEST_TIMEOUT,
                        ErrorCode::RequestTimeout,
                        "the request body did not arrive in time",
                    )
                    .into_response();
                    response
                        .headers_mut()
                        .insert(header::CONNECTION, HeaderValue::from_static("close"));
                } else if !finished.load(Ordering::Relaxed) {
                    // The handler left (part of) the body unread: hyper will not reuse the
                    // connection, so say so instead of letting the client send into a closing
                    // socket.
                    response
                        .headers_mut()
                        .insert(header::CONNECTION, HeaderValue::from_static("close"));
                }
                phase.set(Phase::Idle);
                Ok::<_, Infallible>(response)
            }
        })
    };
    let watched = Watched {
        io,
        phase: phase.clone(),
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.keep_alive(true).header_read_timeout(None);
    let connection = builder.serve_connection(hyper_util::rt::TokioIo::new(watched), service);
    tokio::pin!(connection);
    let mut stopping = false;
    loop {
        let (now, since) = phase.get();
        let deadline = match now {
            Phase::Headers => Some(since + limits.header_read),
            Phase::Idle => Some(since + limits.idle),
            Phase::Busy => None,
        };
        let expired = async move {
            match deadline {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = connection.as_mut() => break,
            _ = phase.changed.notified() => {}
            _ = stop.wait_for(|s| *s), if !stopping => {
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
            _ = expired => {
                if phase.get() == (now, since) {
                    // Too slow with its headers, or idle too long: close (the client reads EOF).
                    tracing::debug!(phase = ?now, "closing a slow or idle connection");
                    break;
                }
            }
        }
    }
}

/// The connection's I/O, telling [`PhaseClock`] when bytes arrive.
struct Watched<I> {
    io: I,
    phase: Arc<PhaseClock>,
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.phase.bytes_arrived();
        }
        result
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// A request body that fails once the body timeout passes (and says so in `timed_out`).
struct TimedBody {
    inner: Incoming,
    deadline: Pin<Box<Sleep>>,
    timed_out: Arc<AtomicBool>,
    /// Set once the whole body was read.
    finished: Arc<AtomicBool>,
}

#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
struct BodyTimeout;

impl http_body::Body for TimedBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            if frame.is_none() || http_body::Body::is_end_stream(&self.inner) {
                self.finished.store(true, Ordering::Relaxed);
            }
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.timed_out.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(Box::new(BodyTimeout))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
