//! Connections of the [`super::HttpClient`]: hyper's HTTP/1 client over tokio TCP (plain to
//! loopback, rustls otherwise), one keep-alive pool per origin, and the mapping of their failures
//! to [`HttpError`].
//!
//! A connection is checked out of the pool for one exchange and put back once its response body
//! was read whole; one that is dropped instead (a cancelled request, an error, a timeout) takes its
//! socket with it, so the server sees the connection closed. A request that hyper hands back
//! unsent from a pooled connection the server has closed meanwhile is sent on a new one, a POST
//! included: it never reached the server.

use std::io;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Frame, SizeHint};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::{HttpConfig, HttpError};

/// How long an idle connection is kept for reuse (reqwest's default, which the client replaced).
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Where a connection goes: scheme, host (as in the URL, IDN already in Punycode), port.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Origin {
    pub tls: bool,
    pub host: String,
    pub port: u16,
}

impl Origin {
    pub fn of(url: &url::Url) -> Option<Origin> {
        Some(Origin {
            tls: url.scheme() == "https",
            host: url.host_str()?.to_owned(),
            port: url.port_or_known_default()?,
        })
    }

    /// The `Host` header: the port only when it is not the scheme's.
    pub fn authority(&self) -> String {
        let default = if self.tls { 443 } else { 80 };
        if self.port == default {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// A request body sent as one frame with its exact length (hyper writes `content-length`).
pub(super) struct Payload(Option<Vec<u8>>);

impl Payload {
    pub fn new(bytes: Vec<u8>) -> Payload {
        Payload(Some(bytes).filter(|b| !b.is_empty()))
    }
}

impl Body for Payload {
    type Data = io::Cursor<Vec<u8>>;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Poll::Ready(
            self.get_mut()
                .0
                .take()
                .map(|b| Ok(Frame::data(io::Cursor::new(b)))),
        )
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.as_ref().map_or(0, |b| b.len() as u64))
    }
}

/// A checked-out or idle connection. Dropping it ends its connection task and closes the socket.
pub(super) struct Conn {
    pub sender: SendRequest<Payload>,
    task: tokio::task::AbortHandle,
    idle_since: Instant,
    /// Whether it came from the pool (so an unsent request may move to a new connection).
    pub reused: bool,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The idle connections of one client and its clones, most recently used last (a client talks
/// to one or two origins, so a list is searched).
#[derive(Default)]
pub(super) struct Pool(Mutex<Vec<(Origin, Conn)>>);

impl Pool {
    /// The most recently used idle connection to `origin` that is still open, if any.
    pub async fn checkout(&self, origin: &Origin) -> Option<Conn> {
        loop {
            let mut conn = {
                let mut idle = self.0.lock().unwrap_or_else(|e| e.into_inner());
                let at = idle.iter().rposition(|(o, _)| o == origin)?;
                idle.remove(at).1
            };
            // A connection whose last response was just read may still be finishing it: wait
            // until it is ready again, or closed (the server said `Connection: close` or hung up).
            if conn.idle_since.elapsed() < IDLE_TIMEOUT && conn.sender.ready().await.is_ok() {
                conn.reused = true;
                return Some(conn);
            }
        }
    }

    pub fn put_back(&self, origin: Origin, mut conn: Conn) {
        if conn.sender.is_closed() {
            return;
        }
        conn.idle_since = Instant::now();
        let mut idle = self.0.lock().unwrap_or_else(|e| e.into_inner());
        idle.push((origin, conn));
    }
}

/// Opens a connection to `origin`: the configured address or DNS, TCP, TLS when https; all within
/// the connect timeout.
pub(super) async fn connect(
    origin: &Origin,
    config: &HttpConfig,
    tls: &tokio_rustls::TlsConnector,
) -> Result<Conn, HttpError> {
    let stream = tokio::time::timeout(config.connect_timeout, open(origin, config, tls))
        .await
        .map_err(|_| HttpError::Timeout)?
        .map_err(|e| classify(&e))?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| classify(&e))?;
    let task = tokio::spawn(connection).abort_handle();
    Ok(Conn {
        sender,
        task,
        idle_since: Instant::now(),
        reused: false,
    })
}

async fn open(
    origin: &Origin,
    config: &HttpConfig,
    tls: &tokio_rustls::TlsConnector,
) -> io::Result<Stream> {
    // IPv6 literals come bracketed from the URL.
    let bare = origin.host.trim_start_matches('[').trim_end_matches(']');
    let fixed = config
        .resolve
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(bare))
        .map(|(_, ip)| *ip)
        .or_else(|| bare.parse().ok());
    let addrs: Vec<std::net::SocketAddr> = match fixed {
        Some(ip) => vec![(ip, origin.port).into()],
        None => tokio::net::lookup_host((bare, origin.port))
            .await?
            .collect(),
    };
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(tcp) => {
                tcp.set_nodelay(true)?;
                if !origin.tls {
                    return Ok(Stream::Plain(tcp));
                }
                let name = match bare.parse::<std::net::IpAddr>() {
                    Ok(ip) => ServerName::IpAddress(ip.into()),
                    Err(_) => ServerName::try_from(bare.to_owned())
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?,
                };
                return Ok(Stream::Tls(Box::new(tls.connect(name, tcp).await?)));
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Maps a failure to what the app can act on, looking through its sources for TLS trust failures
/// (any rustls error) and timeouts; everything else is a network failure worth retrying.
pub(super) fn classify(error: &(dyn std::error::Error + 'static)) -> HttpError {
    let mut source = Some(error);
    while let Some(current) = source {
        if current.is::<rustls::Error>() {
            return HttpError::Untrusted;
        }
        source = match current.downcast_ref::<io::Error>() {
            Some(io) if io.kind() == io::ErrorKind::TimedOut => return HttpError::Timeout,
            // An io::Error's `source()` skips its own payload (where rustls puts its error).
            Some(io) => match io.get_ref() {
                Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
                None => None,
            },
            None => current.source(),
        };
    }
    HttpError::Network { retryable: true }
}

/// A plain or TLS socket, so that hyper's connection code exists once.
enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
