//! Slow and idle clients (issue 10, point 7): 200 connections that never finish their request
//! hold nothing up, and each is closed once its time is up: idle ones and half-sent headers read
//! EOF, half-sent bodies `408 request_timeout`, idle keep-alive connections EOF. The timeouts are
//! set small here (`[http]`); the defaults are 10 s / 30 s / 75 s.

mod common;

use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slow {
    /// Connects and sends nothing.
    Silent,
    /// Sends half a request header.
    HalfHeader,
    /// Sends the headers and half the body.
    HalfBody,
    /// Makes one request, reads the answer, then stays idle on the keep-alive connection.
    IdleKeepAlive,
}

fn slow_config() -> authcore_server::Config {
    let mut config = test_config();
    config.http.header_read_timeout_s = 3;
    config.http.body_timeout_s = 3;
    config.http.idle_timeout_s = 4;
    config
}

async fn open_slow(addr: std::net::SocketAddr, kind: Slow) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    match kind {
        Slow::Silent => {}
        Slow::HalfHeader => {
            stream
                .write_all(b"POST /v1/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty")
                .await
                .unwrap();
        }
        Slow::HalfBody => {
            stream
                .write_all(
                    b"POST /v1/token HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                      Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n\
                      grant_type=",
                )
                .await
                .unwrap();
        }
        Slow::IdleKeepAlive => {
            stream
                .write_all(
                    b"GET /.well-known/openid-configuration HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                )
                .await
                .unwrap();
            // Read the whole answer (headers then a Content-Length body).
            let mut answer = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                let n = stream.read(&mut buf).await.unwrap();
                assert!(n > 0, "the server answers before going idle");
                answer.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&answer).into_owned();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length: usize = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length: ")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap();
                    if answer.len() >= end + 4 + length {
                        break;
                    }
                }
            }
            assert!(answer.starts_with(b"HTTP/1.1 200"));
        }
    }
    stream
}

/// True when the connection is still open with nothing to read.
fn still_open(stream: &TcpStream) -> bool {
    let mut buf = [0u8; 1];
    matches!(stream.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

/// Reads until the server closes; returns what it sent.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    // A failsafe so a regression fails instead of hanging, not a timing assertion.
    let read = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server never closed the slow connection");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_slow_clients_hang_while_a_real_request_is_served_then_are_closed() {
    let t = start_with(slow_config(), "sqlite::memory:", true).await;
    let addr = t.server.addr();
    let kinds = [
        Slow::Silent,
        Slow::HalfHeader,
        Slow::HalfBody,
        Slow::IdleKeepAlive,
    ];
    let slow: Vec<(Slow, TcpStream)> = futures_join(
        (0..200)
            .map(|i| {
                let kind = kinds[i % kinds.len()];
                async move { (kind, open_slow(addr, kind).await) }
            })
            .collect(),
    )
    .await;

    // A real sign-in goes through while all 200 hang.
    let tokens = t.sign_in_password(ALICE).await;
    let (status, body) = t.get("/v1/userinfo", Some(&tokens.access)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["email"], ALICE.0);
    for (kind, stream) in &slow {
        assert!(still_open(stream), "a {kind:?} client was closed too early");
    }

    // Then every slow connection is closed: EOF, or 408 for a half-sent body.
    for (kind, mut stream) in slow {
        let answer = String::from_utf8_lossy(&read_until_closed(&mut stream).await).into_owned();
        match kind {
            Slow::HalfBody => {
                assert!(answer.starts_with("HTTP/1.1 408"), "{kind:?}: {answer}");
                assert!(answer.contains("\"error\":\"request_timeout\""), "{answer}");
                assert!(answer.to_ascii_lowercase().contains("connection: close"));
            }
            _ => assert_eq!(answer, "", "{kind:?} is closed without an answer"),
        }
    }
    t.server.shutdown().await;
}

/// At `max_connections` new connections wait in the listen backlog: a real request made while
/// the cap is held by silent clients is served once they time out, not refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_cap_a_new_connection_waits_for_a_slot() {
    let mut config = slow_config();
    config.http.max_connections = 10;
    config.http.header_read_timeout_s = 2;
    let t = start_with(config, "sqlite::memory:", true).await;
    let addr = t.server.addr();
    let mut silent = Vec::new();
    for _ in 0..10 {
        silent.push(open_slow(addr, Slow::Silent).await);
    }
    let (status, body) = t.get("/.well-known/openid-configuration", None).await;
    assert_eq!(status, 200, "{body}");
    // It could only be accepted once a silent client's slot was freed.
    let mut closed = 0;
    for stream in &silent {
        if !still_open(stream) {
            closed += 1;
        }
    }
    assert!(closed >= 1, "served while every slot was held");
    for mut stream in silent {
        assert_eq!(read_until_closed(&mut stream).await, b"");
    }
    t.server.shutdown().await;
}

/// The same limits hold behind TLS: a client that never sends its handshake is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_tls_client_is_closed_after_the_header_timeout() {
    use rcgen::{CertificateParams, KeyPair};
    let dir = temp_path("slow-tls");
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
    let mut options = authcore_server::ServerOptions::new(
        slow_config(),
        "sqlite::memory:",
        "127.0.0.1:0".parse().unwrap(),
    );
    options.tls_cert = Some(dir.join("cert.pem"));
    options.tls_key = Some(dir.join("key.pem"));
    let server = authcore_server::start(options).await.unwrap();
    let mut silent = open_slow(server.addr(), Slow::Silent).await;
    let mut half = open_slow(server.addr(), Slow::Silent).await;
    // Half a TLS ClientHello record header.
    half.write_all(&[0x16, 0x03, 0x01]).await.unwrap();
    assert_eq!(read_until_closed(&mut silent).await, b"");
    assert_eq!(read_until_closed(&mut half).await, b"");
    server.shutdown().await;
}

async fn futures_join<F>(futures: Vec<F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

#[test]
fn http_limits_of_zero_are_refused_at_load() {
    for key in [
        "header_read_timeout_s",
        "body_timeout_s",
        "idle_timeout_s",
        "max_connections",
    ] {
        let toml = demo_toml().replace(&format!("\n{key} = "), &format!("\n{key} = 0 #"));
        let error = authcore_server::Config::from_toml(&toml)
            .err()
            .unwrap_or_else(|| panic!("http.{key} = 0 is accepted"));
        assert_eq!(
            error.to_string(),
            "config is not valid: http.header_read_timeout_s, body_timeout_s, idle_timeout_s and max_connections must be at least 1"
        );
    }
    // A config without [http] (an older one) gets the defaults.
    let without: String = demo_toml()
        .lines()
        .filter(|l| {
            ![
                "[http]",
                "header_read_timeout_s",
                "body_timeout_s",
                "idle_timeout_s",
                "max_connections",
            ]
            .iter()
            .any(|k| l.starts_with(k))
        })
        .collect::<Vec<_>>()
        .join("\n");
    let config = authcore_server::Config::from_toml(&without).unwrap();
    assert_eq!(
        (
            config.http.header_read_timeout_s,
            config.http.body_timeout_s,
            config.http.idle_timeout_s,
            config.http.max_connections
        ),
        (10, 30, 75, 10_000)
    );
}
