//! Sessions end: an absolute lifetime from the sign-in (`session.max_lifetime_s`, 30 days) that
//! refreshing never extends; authorization codes issued before a logout-all (or a password
//! reset) open no session; a client cannot revoke another client's token. Time is moved with
//! the server's clock.

mod common;

use common::*;
use serde_json::json;

const DAY: i64 = 86_400;

const LIFETIME_OVER: &str = "the session reached its maximum lifetime; sign in again";

async fn revoke(t: &TestServer, client_id: &str, token: &str) -> (u16, serde_json::Value) {
    t.post_form("/v1/revoke", &[("client_id", client_id), ("token", token)])
        .await
}

/// A password sign-in up to its authorization code (not exchanged).
async fn authorization_code(t: &TestServer, user: (&str, &str)) -> (String, Pkce) {
    let p = pkce();
    let (status, body) = t.begin(user.0, &p, &[("password", user.1)]).await;
    assert_eq!(status, 200, "{body}");
    (body["authorization_code"].as_str().unwrap().to_owned(), p)
}

async fn exchange_raw(t: &TestServer, code: &str, p: &Pkce) -> (u16, serde_json::Value) {
    t.post_form(
        "/v1/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", CLIENT),
            ("code", code),
            ("code_verifier", &p.verifier),
        ],
    )
    .await
}

#[tokio::test]
async fn a_session_ends_thirty_days_after_its_sign_in_however_often_it_is_refreshed() {
    let t = start().await;
    let tokens = t.sign_in_password(ALICE).await;
    let mut refresh = tokens.refresh;
    for days in [10, 20] {
        t.server.clock().advance(10 * DAY);
        let (status, body) = t.refresh(refresh).await;
        assert_eq!(status, 200, "{body}");
        // The new refresh token ends with the session, not 30 days from now.
        let left = body["refresh_token_expires_in"].as_i64().unwrap();
        assert!(
            left <= (30 - days) * DAY && left > (30 - days) * DAY - 5,
            "{body}"
        );
        assert_eq!(body["expires_in"], 900);
        refresh = tokens_of(&body).refresh;
    }
    // Five minutes before the end: the access token is cut to what is left.
    t.server.clock().advance(10 * DAY - 300);
    let (status, body) = t.refresh(refresh).await;
    assert_eq!(status, 200, "{body}");
    let expires_in = body["expires_in"].as_i64().unwrap();
    assert!(expires_in <= 300 && expires_in > 295, "{body}");
    let last = tokens_of(&body);
    assert_eq!(t.get("/v1/userinfo", Some(&last.access)).await.0, 200);

    t.server.clock().advance(300);
    let (status, body) = t.get("/v1/userinfo", Some(&last.access)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );
    let (status, body) = t.refresh(last.refresh).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(body["error_description"], LIFETIME_OVER);
    // A new sign-in starts a new lifetime.
    let fresh = t.sign_in_password(ALICE).await;
    let (status, _) = t.refresh(fresh.refresh).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_shorter_configured_lifetime_ends_tokens_already_issued() {
    let dir = temp_path("session-lifetime");
    let db = format!("sqlite://{}", dir.join("authcore.db").display());
    let t = start_with(test_config(), &db, true).await;
    let tokens = t.sign_in_password(ALICE).await;
    let clock = t.server.clock().clone();
    t.server.shutdown().await;
    // The operator cuts sessions to one hour; the server restarts on the same database.
    let mut config = test_config();
    config.session.max_lifetime_s = 3600;
    let mut options =
        authcore_server::ServerOptions::new(config, &db, "127.0.0.1:0".parse().unwrap());
    options.dev = true;
    options.clock = clock;
    let server = authcore_server::start(options).await.unwrap();
    let t = TestServer {
        base: server.base_url().to_owned(),
        server,
        http: reqwest::Client::new(),
    };
    assert_eq!(t.get("/v1/userinfo", Some(&tokens.access)).await.0, 200);
    t.server.clock().advance(3600);
    let (status, body) = t.get("/v1/userinfo", Some(&tokens.access)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );
    let (status, body) = t.refresh(tokens.refresh).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(body["error_description"], LIFETIME_OVER);
}

#[tokio::test]
async fn a_lifetime_under_a_minute_is_refused_at_load() {
    let text = demo_toml().replace("max_lifetime_s = 2592000", "max_lifetime_s = 10");
    let error = authcore_server::Config::from_toml(&text).unwrap_err();
    assert_eq!(
        error.to_string(),
        "config is not valid: session.max_lifetime_s must be at least 60 seconds"
    );
    let text = demo_toml().replace(
        "max_passwordless_outstanding = 5",
        "max_passwordless_outstanding = 0",
    );
    let error = authcore_server::Config::from_toml(&text).unwrap_err();
    assert_eq!(
        error.to_string(),
        "config is not valid: push.max_passwordless_outstanding must be at least 1"
    );
    // An old config without the new keys keeps working, with the defaults.
    let text = demo_toml()
        .replace("[session]\n", "")
        .replace("max_lifetime_s = 2592000", "")
        .replace("max_passwordless_outstanding = 5", "");
    let config = authcore_server::Config::from_toml(&text).unwrap();
    assert_eq!(config.session.max_lifetime_s, 2_592_000);
    assert_eq!(config.push.max_passwordless_outstanding, 5);
}

#[tokio::test]
async fn an_authorization_code_issued_before_a_logout_all_is_refused() {
    let t = start().await;
    let signed_in = t.sign_in_password(ALICE).await;
    // Someone else finished a sign-in as Alice and holds its code.
    let (stolen, stolen_pkce) = authorization_code(&t, ALICE).await;
    let (status, body) = t.post_bearer("/v1/logout-all", &signed_in.access).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = exchange_raw(&t, &stolen, &stolen_pkce).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    assert_eq!(
        body["error_description"],
        "the authorization code was issued before every session was signed out; sign in again"
    );
    // A sign-in after the logout-all (in the same second) works.
    let (code, p) = authorization_code(&t, ALICE).await;
    let (status, body) = exchange_raw(&t, &code, &p).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn an_authorization_code_issued_before_a_password_reset_is_refused() {
    let t = start().await;
    let (stolen, stolen_pkce) = authorization_code(&t, ALICE).await;
    let (status, _) = t
        .post_json("/v1/password/forgot", json!({"identifier": ALICE.0}), None)
        .await;
    assert_eq!(status, 202);
    let code = t.last_code(ALICE.0).await;
    let (status, body) = t
        .post_json(
            "/v1/password/reset",
            json!({"identifier": ALICE.0, "code": code, "new_password": "alice-new-password"}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = exchange_raw(&t, &stolen, &stolen_pkce).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    assert_eq!(
        body["error_description"],
        "the authorization code was issued before every session was signed out; sign in again"
    );
}

#[tokio::test]
async fn revoking_another_clients_token_is_refused_and_the_token_keeps_working() {
    let t = start().await;
    let tokens = t.sign_in_password(ALICE).await;
    for token in [&tokens.refresh, &tokens.access] {
        let (status, body) = revoke(&t, "authcore-harness", token).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("unauthorized_client")),
            "{body}"
        );
        assert_eq!(
            body["error_description"],
            "the token was issued to another client; it was not revoked"
        );
    }
    assert_eq!(t.get("/v1/userinfo", Some(&tokens.access)).await.0, 200);
    let (status, body) = t.refresh(tokens.refresh.clone()).await;
    assert_eq!(status, 200, "{body}");
    let rotated = tokens_of(&body);
    // Unknown tokens still answer 200 to any client (RFC 7009); the owner revokes its own.
    let (status, _) = revoke(&t, "authcore-harness", "rt_not-a-real-token").await;
    assert_eq!(status, 200);
    let (status, _) = revoke(&t, CLIENT, &rotated.refresh).await;
    assert_eq!(status, 200);
    let (status, body) = t.refresh(rotated.refresh).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}
