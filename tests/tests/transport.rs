//! The sign-in client's transport: TLS trust, the https-only rule, bad server behaviour mapped to
//! exact typed errors, and cancellation.

use std::time::Duration;

use authcore::http::HttpConfig;
use authcore::signin::SignInState;
use authcore::{AuthClient, ClientConfig, ClientError};
use authcore_e2e::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn the_tls_server_is_trusted_through_the_test_ca_and_refused_without_it() {
    let tls = start_tls_server().await;
    let trusting = tls.app("trusting");
    assert!(matches!(
        trusting.sign_in().start(ALICE.0).await.unwrap(),
        SignInState::ChooseMethod { .. }
    ));

    let untrusting = AuthClient::new(tls.client_config(false), device_store("untrusting")).unwrap();
    let flow = untrusting.sign_in();
    assert_eq!(
        flow.start(ALICE.0).await.unwrap_err(),
        ClientError::Untrusted
    );
    assert_eq!(flow.state(), SignInState::EnterIdentifier);
    tls.world.stop().await;
}

#[tokio::test]
async fn plain_http_to_a_host_other_than_loopback_is_refused_before_any_request() {
    let config = ClientConfig {
        server_url: "http://id.authcore.test".into(),
        client_id: CLIENT_ID.into(),
        http: HttpConfig::default(),
    };
    assert_eq!(
        AuthClient::new(config, device_store("plain")).unwrap_err(),
        ClientError::InsecureUrl {
            host: "id.authcore.test".into()
        }
    );
    let bad = ClientConfig {
        server_url: "ftp://id.authcore.test".into(),
        client_id: CLIENT_ID.into(),
        http: HttpConfig::default(),
    };
    assert_eq!(
        AuthClient::new(bad, device_store("ftp")).unwrap_err(),
        ClientError::InvalidUrl {
            url: "ftp://id.authcore.test".into()
        }
    );
}

/// A server that answers every request with `response` (raw HTTP), then closes.
async fn canned(response: &'static [u8]) -> AuthClient {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let _ = socket.read(&mut buf).await;
                if !response.is_empty() {
                    let _ = socket.write_all(response).await;
                    let _ = socket.flush().await;
                }
                if response == SILENT {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                }
            });
        }
    });
    app_at(addr, "canned", Duration::from_millis(500))
}

const SILENT: &[u8] = b"";

async fn start_against(response: &'static [u8]) -> ClientError {
    let flow = canned(response).await.sign_in();
    let error = flow.start(ALICE.0).await.unwrap_err();
    assert_eq!(
        flow.state(),
        SignInState::EnterIdentifier,
        "nothing changed"
    );
    error
}

#[tokio::test]
async fn malformed_json_is_a_protocol_error() {
    assert_eq!(
        start_against(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 9\r\nconnection: close\r\n\r\n{\"method\"").await,
        ClientError::Protocol {
            what: "truncated JSON".into()
        }
    );
    assert_eq!(
        start_against(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 8\r\nconnection: close\r\n\r\n<html/>\n").await,
        ClientError::Protocol {
            what: "unexpected answer (malformed JSON)".into()
        }
    );
    assert_eq!(
        start_against(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 14\r\nconnection: close\r\n\r\n{\"methods\":[]}").await,
        ClientError::Protocol {
            what: "unexpected answer (missing or mistyped fields)".into()
        }
    );
}

#[tokio::test]
async fn an_unexpected_status_is_a_server_error() {
    assert_eq!(
        start_against(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 5\r\nconnection: close\r\n\r\noops!").await,
        ClientError::Server { status: 500 }
    );
    assert_eq!(
        start_against(b"HTTP/1.1 302 Found\r\nlocation: https://elsewhere.example/\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await,
        ClientError::Server { status: 302 }
    );
    assert_eq!(
        start_against(b"HTTP/1.1 404 Not Found\r\ncontent-type: text/html\r\ncontent-length: 9\r\nconnection: close\r\n\r\nnot found").await,
        ClientError::Server { status: 404 }
    );
}

#[tokio::test]
async fn a_truncated_body_is_a_retryable_network_error() {
    assert_eq!(
        start_against(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 400\r\nconnection: close\r\n\r\n{\"identifier\":\"alice").await,
        ClientError::Network { retryable: true }
    );
}

#[tokio::test]
async fn a_server_that_never_answers_is_a_timeout() {
    assert_eq!(start_against(SILENT).await, ClientError::Timeout);
}

#[tokio::test]
async fn a_server_that_closes_the_connection_is_a_retryable_network_error() {
    // Reads the request, then closes without a byte of answer.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = vec![0u8; 4096];
            let _ = socket.read(&mut buf).await;
            drop(socket);
        }
    });
    let flow = app_at(addr, "closing", Duration::from_secs(30)).sign_in();
    assert_eq!(
        flow.start(ALICE.0).await.unwrap_err(),
        ClientError::Network { retryable: true }
    );
}

#[tokio::test]
async fn cancel_stops_a_waiting_step_and_the_flow_stays_usable() {
    let world = start_server().await;
    // The first connection is held open and never answered; later ones reach the server.
    let proxy = Proxy::start(world.server.addr(), 1, b"").await;
    let flow = app_at(proxy.addr, "cancel", Duration::from_secs(30)).sign_in();
    let waiting = tokio::spawn({
        let flow = flow.clone();
        async move { flow.start(ALICE.0).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiting.is_finished(), "the step is waiting on the server");
    assert_eq!(flow.cancel().await, SignInState::EnterIdentifier);
    assert_eq!(waiting.await.unwrap().unwrap_err(), ClientError::Cancelled);

    // usable again: the next attempt goes through
    assert!(matches!(
        flow.start(ALICE.0).await.unwrap(),
        SignInState::ChooseMethod { .. }
    ));
    world.stop().await;
}

#[tokio::test]
async fn a_step_whose_caller_gave_up_changes_nothing() {
    let world = start_server().await;
    let proxy = Proxy::start(world.server.addr(), 1, b"").await;
    let flow = app_at(proxy.addr, "dropped", Duration::from_secs(30)).sign_in();
    // the caller's coroutine is cancelled while the request waits
    let gave_up = tokio::time::timeout(Duration::from_millis(200), flow.start(ALICE.0)).await;
    assert!(gave_up.is_err());
    assert_eq!(flow.state(), SignInState::EnterIdentifier);
    assert!(matches!(
        flow.start(ALICE.0).await.unwrap(),
        SignInState::ChooseMethod { .. }
    ));
    world.stop().await;
}
