//! The HTTP client against misbehaving loopback servers and a TLS server with a test CA.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use authcore::http::{check_url, spki_of, HttpClient, HttpConfig, HttpError, Request};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn fast_config() -> HttpConfig {
    HttpConfig {
        request_timeout: Duration::from_millis(500),
        connect_timeout: Duration::from_millis(500),
        backoff: Duration::from_millis(5),
        ..HttpConfig::default()
    }
}

/// Reads one request's head (enough for these tests: bodies are small and sent with the head).
async fn read_head<S: AsyncReadExt + Unpin>(stream: &mut S) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut seen = Vec::new();
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

/// A loopback server whose n-th connection (0-based) is handled by `behave(n, stream)`.
async fn serve<F, Fut>(behave: F) -> (String, Arc<AtomicUsize>)
where
    F: Fn(usize, TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let behave = Arc::new(behave);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let behave = behave.clone();
            tokio::spawn(async move { behave(n, stream).await });
        }
    });
    (url, count)
}

async fn answer(mut stream: TcpStream, raw: &'static [u8]) {
    read_head(&mut stream).await;
    let _ = stream.write_all(raw).await;
    let _ = stream.shutdown().await;
}

#[tokio::test]
async fn any_status_and_body_come_back_as_sent() {
    let (url, _) = serve(|_, s| answer(s, b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\nContent-Length: 9\r\n\r\n{\"broken\"")).await;
    let client = HttpClient::new(fast_config()).unwrap();
    let response = client.send(&Request::get(url)).await.unwrap();
    assert_eq!(response.status, 503);
    assert_eq!(response.body, b"{\"broken\"");
    assert_eq!(response.retry_after, Some(7));
}

#[tokio::test]
async fn a_truncated_body_is_a_retryable_network_failure() {
    let (url, _) = serve(|_, s| {
        answer(
            s,
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"partial\":",
        )
    })
    .await;
    let client = HttpClient::new(HttpConfig {
        max_retries: 0,
        ..fast_config()
    })
    .unwrap();
    assert_eq!(
        client.send(&Request::get(url)).await.unwrap_err(),
        HttpError::Network { retryable: true }
    );
}

#[tokio::test]
async fn a_server_that_closes_the_connection_is_a_network_failure() {
    let (url, count) = serve(|_, mut s| async move {
        read_head(&mut s).await;
        drop(s);
    })
    .await;
    let client = HttpClient::new(fast_config()).unwrap();
    let post = Request::post_form(url, vec![("password".into(), "hunter2".into())]);
    assert_eq!(
        client.send(&post).await.unwrap_err(),
        HttpError::Network { retryable: true }
    );
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "a POST is never sent twice"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let (url, _) = serve(|_, mut s| async move {
        read_head(&mut s).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let client = HttpClient::new(HttpConfig {
        request_timeout: Duration::from_millis(200),
        ..fast_config()
    })
    .unwrap();
    assert_eq!(
        client.send(&Request::get(url)).await.unwrap_err(),
        HttpError::Timeout
    );
}

#[tokio::test]
async fn idempotent_requests_are_retried_after_network_failures() {
    let (url, count) = serve(|n, mut s| async move {
        if n < 2 {
            read_head(&mut s).await;
            drop(s);
        } else {
            answer(s, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}").await;
        }
    })
    .await;
    let client = HttpClient::new(fast_config()).unwrap();
    let response = client.send(&Request::get(url)).await.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn nothing_listening_is_a_network_failure() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    drop(listener);
    let client = HttpClient::new(HttpConfig {
        max_retries: 0,
        ..fast_config()
    })
    .unwrap();
    assert_eq!(
        client.send(&Request::get(url)).await.unwrap_err(),
        HttpError::Network { retryable: true }
    );
}

#[tokio::test]
async fn plain_http_outside_loopback_is_refused_before_any_request() {
    let client = HttpClient::new(fast_config()).unwrap();
    let err = client
        .send(&Request::get("http://login.acme.example/v1/login/methods"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        HttpError::InsecureUrl {
            host: "login.acme.example".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "refusing plain http to login.acme.example: only https is allowed outside loopback"
    );
    for ok in [
        "http://127.0.0.1:8080/",
        "http://localhost/x",
        "http://[::1]:9/",
        "http://127.5.6.7/",
        "https://acme.example/",
    ] {
        assert!(check_url(ok).is_ok(), "{ok}");
    }
    assert_eq!(
        check_url("http://10.0.0.1/"),
        Err(HttpError::InsecureUrl {
            host: "10.0.0.1".into()
        })
    );
    assert_eq!(
        check_url("ftp://acme.example/"),
        Err(HttpError::InvalidUrl("ftp://acme.example/".into()))
    );
    assert_eq!(
        check_url("not a url"),
        Err(HttpError::InvalidUrl("not a url".into()))
    );
}

#[test]
fn requests_keep_secrets_out_of_debug_output() {
    let request = Request::post_form(
        "https://a.example/",
        vec![("password".into(), "hunter2".into())],
    )
    .with_bearer("at-secret-token");
    let shown = format!("{request:?}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("at-secret-token"),
        "{shown}"
    );
}

#[test]
fn a_bad_extra_root_certificate_is_refused() {
    let config = HttpConfig {
        extra_root_ca_pem: Some(
            b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n".to_vec(),
        ),
        ..fast_config()
    };
    assert_eq!(
        HttpClient::new(config).err(),
        Some(HttpError::InvalidRootCertificate)
    );
    let config = HttpConfig {
        extra_root_ca_pem: Some(b"no pem here".to_vec()),
        ..fast_config()
    };
    assert_eq!(
        HttpClient::new(config).err(),
        Some(HttpError::InvalidRootCertificate)
    );
}

struct TestPki {
    ca_pem: String,
    leaf_der: Vec<u8>,
    acceptor: tokio_rustls::TlsAcceptor,
}

fn test_pki() -> TestPki {
    test_pki_for("localhost")
}

/// A test CA and a leaf certificate for `name` signed by it.
fn test_pki_for(name: &str) -> TestPki {
    test_pki_with(name, false)
}

/// A test CA and a leaf for `name`; `expired`: the leaf's validity ended in 2020.
fn test_pki_with(name: &str, expired: bool) -> TestPki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf_params = CertificateParams::new(vec![name.to_string()]).unwrap();
    if expired {
        leaf_params.not_before = rcgen::date_time_ymd(2019, 1, 1);
        leaf_params.not_after = rcgen::date_time_ymd(2020, 1, 1);
    }
    let leaf = leaf_params.signed_by(&leaf_key, &ca, &ca_key).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).unwrap(),
        )
        .unwrap();
    TestPki {
        ca_pem: ca.pem(),
        leaf_der: leaf.der().to_vec(),
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(server)),
    }
}

async fn serve_tls(acceptor: tokio_rustls::TlsAcceptor) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "https://localhost:{}/",
        listener.local_addr().unwrap().port()
    );
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(stream).await {
                    read_head(&mut tls).await;
                    let _ = tls
                        .write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                        )
                        .await;
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    url
}

#[tokio::test]
async fn tls_with_the_test_ca_connects_and_without_it_is_untrusted() {
    let pki = test_pki();
    let url = serve_tls(pki.acceptor.clone()).await;
    let trusting = HttpClient::new(HttpConfig {
        extra_root_ca_pem: Some(pki.ca_pem.clone().into_bytes()),
        ..fast_config()
    })
    .unwrap();
    assert_eq!(
        trusting
            .send(&Request::get(url.clone()))
            .await
            .unwrap()
            .body,
        b"ok"
    );

    let default = HttpClient::new(fast_config()).unwrap();
    assert_eq!(
        default.send(&Request::get(url)).await.unwrap_err(),
        HttpError::Untrusted
    );
}

#[tokio::test]
async fn spki_pins_accept_the_pinned_key_and_refuse_others() {
    let pki = test_pki();
    let url = serve_tls(pki.acceptor.clone()).await;
    let spki = spki_of(&pki.leaf_der).expect("a certificate has an SPKI");
    let pin: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, spki)
        .as_ref()
        .try_into()
        .unwrap();
    let pinned = HttpClient::new(HttpConfig {
        extra_root_ca_pem: Some(pki.ca_pem.clone().into_bytes()),
        spki_pins: vec![[0u8; 32], pin],
        ..fast_config()
    })
    .unwrap();
    assert_eq!(
        pinned
            .send(&Request::get(url.clone()))
            .await
            .unwrap()
            .status,
        200
    );

    let wrong = HttpClient::new(HttpConfig {
        extra_root_ca_pem: Some(pki.ca_pem.into_bytes()),
        spki_pins: vec![[0u8; 32]],
        ..fast_config()
    })
    .unwrap();
    assert_eq!(
        wrong.send(&Request::get(url)).await.unwrap_err(),
        HttpError::Untrusted
    );
}

/// `url` (an https://localhost:<port>/ URL) under another host name, resolved to loopback.
fn under_another_name(url: &str, host: &str) -> (String, HttpConfig) {
    let config = HttpConfig {
        resolve: vec![(host.to_owned(), std::net::Ipv4Addr::LOCALHOST.into())],
        ..fast_config()
    };
    (url.replace("localhost", host), config)
}

#[tokio::test]
async fn an_extra_root_does_not_make_another_ca_trusted() {
    let server_pki = test_pki();
    let other_ca = test_pki();
    let url = serve_tls(server_pki.acceptor.clone()).await;
    let client = HttpClient::new(HttpConfig {
        extra_root_ca_pem: Some(other_ca.ca_pem.into_bytes()),
        ..fast_config()
    })
    .unwrap();
    assert_eq!(
        client.send(&Request::get(url)).await.unwrap_err(),
        HttpError::Untrusted
    );
}

#[tokio::test]
async fn every_root_of_the_extra_pem_is_trusted() {
    let server_pki = test_pki();
    let other_ca = test_pki();
    let url = serve_tls(server_pki.acceptor.clone()).await;
    let both = format!("{}{}", other_ca.ca_pem, server_pki.ca_pem);
    let client = HttpClient::new(HttpConfig {
        extra_root_ca_pem: Some(both.into_bytes()),
        ..fast_config()
    })
    .unwrap();
    assert_eq!(client.send(&Request::get(url)).await.unwrap().body, b"ok");
}

#[tokio::test]
async fn a_certificate_for_another_host_name_is_untrusted_even_under_the_extra_root() {
    let pki = test_pki(); // the leaf names only `localhost`
    let url = serve_tls(pki.acceptor.clone()).await;
    let (url, config) = under_another_name(&url, "id.authcore.test");
    let client = HttpClient::new(HttpConfig {
        extra_root_ca_pem: Some(pki.ca_pem.into_bytes()),
        ..config
    })
    .unwrap();
    assert_eq!(
        client.send(&Request::get(url)).await.unwrap_err(),
        HttpError::Untrusted
    );
}

#[tokio::test]
async fn a_pin_of_the_server_key_does_not_replace_validation() {
    let pki = test_pki();
    let url = serve_tls(pki.acceptor.clone()).await;
    let spki = spki_of(&pki.leaf_der).expect("a certificate has an SPKI");
    let pin: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, spki)
        .as_ref()
        .try_into()
        .unwrap();
    // The right pin, but the test CA is not trusted: the public roots do not lead to it.
    let pinned_only = HttpClient::new(HttpConfig {
        spki_pins: vec![pin],
        ..fast_config()
    })
    .unwrap();
    assert_eq!(
        pinned_only.send(&Request::get(url)).await.unwrap_err(),
        HttpError::Untrusted
    );
}

/// Reads one request head and returns it (up to and with the blank line), or None at EOF.
async fn next_head(stream: &mut TcpStream) -> Option<String> {
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(0) | Err(_) => return None,
            Ok(_) => seen.push(byte[0]),
        }
    }
    Some(String::from_utf8_lossy(&seen).into_owned())
}

/// The request target of a head (`GET /a HTTP/1.1` -> `/a`).
fn target_of(head: &str) -> &str {
    head.split(' ').nth(1).unwrap_or("")
}

/// A keep-alive server: every request on a connection gets `200` with its own target as body.
async fn keep_alive(mut stream: TcpStream) {
    while let Some(head) = next_head(&mut stream).await {
        let target = target_of(&head).to_owned();
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{target}",
            target.len()
        );
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn sequential_requests_reuse_one_connection_across_clones() {
    let (url, count) = serve(|_, s| keep_alive(s)).await;
    let client = HttpClient::new(fast_config()).unwrap();
    let clone = client.clone();
    for (n, c) in [&client, &clone, &client].into_iter().enumerate() {
        let response = c.send(&Request::get(format!("{url}r{n}"))).await.unwrap();
        assert_eq!(response.body, format!("/r{n}").into_bytes());
    }
    let post = Request::post_json(format!("{url}p"), b"{}".to_vec());
    assert_eq!(client.send(&post).await.unwrap().body, b"/p");
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "one connection for all four"
    );
}

#[tokio::test]
async fn concurrent_requests_each_get_their_own_answer_and_connections_are_reused() {
    let (url, count) = serve(|_, s| keep_alive(s)).await;
    let client = HttpClient::new(fast_config()).unwrap();
    let round = |tag: &'static str| {
        let futures = (0..4).map(|n| {
            let client = client.clone();
            let url = format!("{url}{tag}{n}");
            async move { (client.send(&Request::get(url)).await.unwrap().body, n) }
        });
        futures_join(futures.collect())
    };
    for (body, n) in round("a").await {
        assert_eq!(body, format!("/a{n}").into_bytes());
    }
    let opened = count.load(Ordering::SeqCst);
    assert!(
        (1..=4).contains(&opened),
        "{opened} connections for 4 requests"
    );
    for (body, n) in round("b").await {
        assert_eq!(body, format!("/b{n}").into_bytes());
    }
    assert_eq!(
        count.load(Ordering::SeqCst),
        opened,
        "the second round reuses the first round's connections"
    );
}

/// Awaits every future, each on its own task, in order.
async fn futures_join<T: Send + 'static>(
    futures: Vec<impl std::future::Future<Output = T> + Send + 'static>,
) -> Vec<T> {
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_connection_the_server_closes_after_answering_is_not_reused() {
    // The first connection answers once with `Connection: close`, the second keeps alive.
    let (url, count) = serve(|n, mut s| async move {
        if n == 0 {
            next_head(&mut s).await;
            let _ = s
                .write_all(
                    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nfirst",
                )
                .await;
        } else {
            keep_alive(s).await;
        }
    })
    .await;
    let client = HttpClient::new(HttpConfig {
        max_retries: 0,
        ..fast_config()
    })
    .unwrap();
    assert_eq!(
        client.send(&Request::get(url.clone())).await.unwrap().body,
        b"first"
    );
    // A POST is never retried, so it must not be sent on the closed connection.
    let post = Request::post_form(format!("{url}second"), vec![("k".into(), "v".into())]);
    assert_eq!(client.send(&post).await.unwrap().body, b"/second");
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_idle_connection_the_server_hung_up_is_replaced() {
    // The first connection answers once (keep-alive) and then hangs up.
    let (url, count) = serve(|n, mut s| async move {
        if n == 0 {
            next_head(&mut s).await;
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst")
                .await;
            drop(s);
        } else {
            keep_alive(s).await;
        }
    })
    .await;
    let client = HttpClient::new(fast_config()).unwrap();
    assert_eq!(
        client.send(&Request::get(url.clone())).await.unwrap().body,
        b"first"
    );
    let response = client
        .send(&Request::get(format!("{url}again")))
        .await
        .unwrap();
    assert_eq!(response.body, b"/again");
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_cancelled_request_closes_its_connection() {
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel::<()>();
    let closed_tx = std::sync::Mutex::new(Some(closed_tx));
    let (head_tx, head_rx) = tokio::sync::oneshot::channel::<()>();
    let head_tx = std::sync::Mutex::new(Some(head_tx));
    let (url, _) = serve(move |_, mut s| {
        let head_tx = head_tx.lock().unwrap().take();
        let closed_tx = closed_tx.lock().unwrap().take();
        async move {
            next_head(&mut s).await;
            let _ = head_tx.map(|tx| tx.send(()));
            // A long-poll that never answers; reading 0 bytes means the client hung up.
            let mut rest = [0u8; 64];
            while !matches!(s.read(&mut rest).await, Ok(0) | Err(_)) {}
            let _ = closed_tx.map(|tx| tx.send(()));
        }
    })
    .await;
    let client = HttpClient::new(HttpConfig {
        request_timeout: Duration::from_secs(600),
        ..fast_config()
    })
    .unwrap();
    let request = Request::get(format!("{url}poll"));
    let pending = client.send(&request);
    tokio::select! {
        _ = pending => panic!("the server never answers"),
        _ = head_rx => {} // the request arrived; leaving the select drops (cancels) it
    }
    closed_rx
        .await
        .expect("the server saw the connection closed");
}

#[tokio::test]
async fn requests_carry_host_user_agent_accept_bearer_and_form_body() {
    let (head_tx, head_rx) = tokio::sync::oneshot::channel::<String>();
    let head_tx = std::sync::Mutex::new(Some(head_tx));
    let (url, _) = serve(move |_, mut s| {
        let head_tx = head_tx.lock().unwrap().take();
        async move {
            let mut head = next_head(&mut s).await.unwrap_or_default();
            let mut body = vec![0u8; "a=1+2&b=%26".len()];
            let _ = s.read_exact(&mut body).await;
            head.push_str(&String::from_utf8_lossy(&body));
            let _ = head_tx.map(|tx| tx.send(head));
            let _ = s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").await;
        }
    })
    .await;
    let port = url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    let client = HttpClient::new(fast_config()).unwrap();
    let request = Request::post_form(
        format!("{url}v1/token?x=1"),
        vec![("a".into(), "1 2".into()), ("b".into(), "&".into())],
    )
    .with_bearer("at-1")
    .with_header("x-sig", "s");
    assert_eq!(client.send(&request).await.unwrap().status, 204);
    let head = head_rx.await.unwrap().to_ascii_lowercase();
    for line in [
        "post /v1/token?x=1 http/1.1\r\n".to_owned(),
        format!("host: 127.0.0.1:{port}\r\n"),
        "user-agent: authcore/".to_owned(),
        "accept: application/json\r\n".to_owned(),
        "authorization: bearer at-1\r\n".to_owned(),
        "x-sig: s\r\n".to_owned(),
        "content-type: application/x-www-form-urlencoded\r\n".to_owned(),
        "content-length: 11\r\n".to_owned(),
        "\r\n\r\na=1+2&b=%26".to_owned(),
    ] {
        assert!(head.contains(&line), "{line:?} not in {head:?}");
    }
}

#[tokio::test]
async fn a_body_that_trickles_past_the_request_timeout_times_out() {
    let (url, _) = serve(|_, mut s| async move {
        next_head(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            .await;
        loop {
            if s.write_all(b"x").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let client = HttpClient::new(HttpConfig {
        request_timeout: Duration::from_millis(200),
        max_retries: 0,
        ..fast_config()
    })
    .unwrap();
    assert_eq!(
        client.send(&Request::get(url)).await.unwrap_err(),
        HttpError::Timeout
    );
}

#[tokio::test]
async fn a_unicode_host_name_is_reached_and_verified_in_punycode() {
    let pki = test_pki_for("xn--bcher-kva.example");
    let url = serve_tls(pki.acceptor.clone()).await;
    let (url, config) = under_another_name(&url, "bücher.example");
    let client = HttpClient::new(HttpConfig {
        extra_root_ca_pem: Some(pki.ca_pem.into_bytes()),
        // url turns the name into Punycode before the resolver and TLS see it.
        resolve: vec![(
            "xn--bcher-kva.example".into(),
            std::net::Ipv4Addr::LOCALHOST.into(),
        )],
        ..config
    })
    .unwrap();
    assert_eq!(client.send(&Request::get(url)).await.unwrap().body, b"ok");
}

#[tokio::test]
async fn an_expired_certificate_is_untrusted_even_under_the_extra_root() {
    let pki = test_pki_with("localhost", true);
    let url = serve_tls(pki.acceptor.clone()).await;
    let client = HttpClient::new(HttpConfig {
        extra_root_ca_pem: Some(pki.ca_pem.into_bytes()),
        ..fast_config()
    })
    .unwrap();
    assert_eq!(
        client.send(&Request::get(url)).await.unwrap_err(),
        HttpError::Untrusted
    );
}

#[tokio::test]
async fn a_header_that_is_not_valid_http_fails_before_any_connection() {
    let (url, count) = serve(|_, s| keep_alive(s)).await;
    let client = HttpClient::new(fast_config()).unwrap();
    for request in [
        Request::get(url.clone()).with_header("bad name", "v"),
        Request::get(url.clone()).with_header("x-ok", "line\r\nbreak"),
    ] {
        let err = client.send(&request).await.unwrap_err();
        assert_eq!(err, HttpError::Network { retryable: false });
        assert_eq!(err.to_string(), "the network failed");
    }
    assert_eq!(count.load(Ordering::SeqCst), 0, "nothing was sent");
}
