//! An organisation with its own sign-in host (demo.toml: Globex at `login.globex.example`) signs
//! its users in there only: the `Host` header, or `X-Forwarded-Host` when `http.trusted_proxy`
//! says a proxy sets it. Other organisations are served on any host.

mod common;

use common::*;
use serde_json::Value;

async fn begin(t: &TestServer, email: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let pkce = pkce();
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", CLIENT),
            ("identifier", email),
            ("code_challenge", pkce.challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .finish();
    let mut request = t
        .http
        .post(format!("{}/v1/authorize-challenge", t.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

const WRONG_HOST: &str = "accounts of globex.example sign in at login.globex.example only";

#[tokio::test]
async fn globex_users_sign_in_only_at_globex_host() {
    let t = start_with(demo_config(), "sqlite::memory:", true).await;
    // At the server's own address: refused, before any credential is looked at.
    let (status, body) = begin(&t, CAROL.0, &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    assert_eq!(body["error_description"], WRONG_HOST);
    // An unknown Globex address is refused alike (nothing tells accounts apart).
    let (_, body) = begin(&t, "nobody@globex.example", &[]).await;
    assert_eq!(body["error_description"], WRONG_HOST);
    // At Globex's host (any port): the sign-in starts.
    for host in ["login.globex.example", "LOGIN.globex.example:8443"] {
        let (status, body) = begin(&t, CAROL.0, &[("host", host)]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("insufficient_authorization")),
            "{host}: {body}"
        );
    }
    // Acme has no host of its own.
    let (status, body) = begin(&t, ALICE.0, &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("insufficient_authorization")),
        "{body}"
    );
    // Without a trusted proxy, X-Forwarded-Host is only a header.
    let (_, body) = begin(&t, CAROL.0, &[("x-forwarded-host", "login.globex.example")]).await;
    assert_eq!(body["error_description"], WRONG_HOST);
}

#[tokio::test]
async fn a_continued_sign_in_is_held_to_the_host_too() {
    let t = start_with(demo_config(), "sqlite::memory:", true).await;
    let (_, body) = begin(&t, CAROL.0, &[("host", "login.globex.example")]).await;
    let session = body["auth_session"].as_str().unwrap();
    let (status, body) = t
        .post_form(
            "/v1/authorize-challenge",
            &[
                ("client_id", CLIENT),
                ("auth_session", session),
                ("password", CAROL.1),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error_description"].as_str()),
        (400, Some(WRONG_HOST))
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_x_forwarded_host_names_the_host() {
    let mut config = demo_config();
    config.http.trusted_proxy = true;
    let t = start_with(config, "sqlite::memory:", true).await;
    let (status, body) = begin(&t, CAROL.0, &[("x-forwarded-host", "login.globex.example")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("insufficient_authorization")),
        "{body}"
    );
    // The proxy's header wins over Host.
    let (_, body) = begin(
        &t,
        CAROL.0,
        &[
            ("host", "login.globex.example"),
            ("x-forwarded-host", "evil.example"),
        ],
    )
    .await;
    assert_eq!(body["error_description"], WRONG_HOST);
}
