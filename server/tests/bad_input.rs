//! One test per bad input, each asserting the exact status and error code; never a 500.

mod common;

use common::*;
use serde_json::{json, Value};

async fn raw(t: &TestServer, path: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    let response = t
        .http
        .post(format!("{}{path}", t.base))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn assert_error(got: (u16, Value), status: u16, error: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["error"], error, "{}", got.1);
    assert!(got.1["error_description"].is_string(), "{}", got.1);
}

#[tokio::test]
async fn oversized_body_is_413() {
    let t = start().await;
    let body = vec![b'a'; 64 * 1024 + 1];
    let got = raw(
        &t,
        "/v1/authorize-challenge",
        "application/x-www-form-urlencoded",
        body,
    )
    .await;
    assert_error(got, 413, "invalid_request");
}

#[tokio::test]
async fn body_of_exactly_64_kib_is_read() {
    let t = start().await;
    let mut body = b"client_id=authcore-demo-app&pad=".to_vec();
    body.resize(64 * 1024, b'a');
    let got = raw(
        &t,
        "/v1/authorize-challenge",
        "application/x-www-form-urlencoded",
        body,
    )
    .await;
    // Read and parsed: it fails on the missing identifier, not on size.
    assert_error(got, 400, "invalid_request");
}

#[tokio::test]
async fn json_to_a_form_endpoint_is_415() {
    let t = start().await;
    let got = raw(
        &t,
        "/v1/authorize-challenge",
        "application/json",
        b"{}".to_vec(),
    )
    .await;
    assert_error(got, 415, "invalid_request");
}

#[tokio::test]
async fn form_to_a_json_endpoint_is_415() {
    let t = start().await;
    let got = raw(
        &t,
        "/v1/login/methods",
        "application/x-www-form-urlencoded",
        b"identifier=a".to_vec(),
    )
    .await;
    assert_error(got, 415, "invalid_request");
}

#[tokio::test]
async fn malformed_json_is_400() {
    let t = start().await;
    let got = raw(
        &t,
        "/v1/login/methods",
        "application/json",
        b"{\"identifier\":".to_vec(),
    )
    .await;
    assert_error(got, 400, "invalid_request");
}

#[tokio::test]
async fn json_with_a_missing_field_is_400() {
    let t = start().await;
    let got = t
        .post_json("/v1/login/methods", json!({"email": "a@b.example"}), None)
        .await;
    assert_error(got, 400, "invalid_request");
}

#[tokio::test]
async fn invalid_identifier_is_400() {
    let t = start().await;
    let got = t
        .post_json(
            "/v1/login/methods",
            json!({"identifier": "not an email"}),
            None,
        )
        .await;
    assert_error(got, 400, "invalid_request");
}

#[tokio::test]
async fn unknown_client_id_is_invalid_client() {
    let t = start().await;
    let pkce = pkce();
    let got = t
        .post_form(
            "/v1/authorize-challenge",
            &[
                ("client_id", "evil-app"),
                ("identifier", ALICE.0),
                ("code_challenge", &pkce.challenge),
                ("code_challenge_method", "S256"),
            ],
        )
        .await;
    assert_error(got, 401, "invalid_client");
}

#[tokio::test]
async fn missing_client_id_is_invalid_client() {
    let t = start().await;
    let got = t
        .post_form("/v1/authorize-challenge", &[("identifier", ALICE.0)])
        .await;
    assert_error(got, 401, "invalid_client");
}

#[tokio::test]
async fn plain_pkce_is_refused() {
    let t = start().await;
    let pkce = pkce();
    let got = t
        .post_form(
            "/v1/authorize-challenge",
            &[
                ("client_id", CLIENT),
                ("identifier", ALICE.0),
                ("code_challenge", &pkce.challenge),
                ("code_challenge_method", "plain"),
            ],
        )
        .await;
    assert_error(got, 400, "invalid_request");
}

#[tokio::test]
async fn missing_code_challenge_is_refused() {
    let t = start().await;
    let got = t
        .post_form(
            "/v1/authorize-challenge",
            &[("client_id", CLIENT), ("identifier", ALICE.0)],
        )
        .await;
    assert_error(got, 400, "invalid_request");
}

#[tokio::test]
async fn repeated_parameter_is_refused() {
    let t = start().await;
    let got = raw(
        &t,
        "/v1/authorize-challenge",
        "application/x-www-form-urlencoded",
        b"client_id=authcore-demo-app&client_id=authcore-demo-app".to_vec(),
    )
    .await;
    assert_error(got, 400, "invalid_request");
}

#[tokio::test]
async fn unrecognised_parameters_are_ignored() {
    let t = start().await;
    let pkce = pkce();
    let (status, body) = t
        .begin(
            ALICE.0,
            &pkce,
            &[
                ("password", ALICE.1),
                ("scope", "openid"),
                ("x-whatever", "1"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn unknown_auth_session_is_invalid_session() {
    let t = start().await;
    let got = t.step("as_made_up", &[("password", "x")]).await;
    assert_error(got, 400, "invalid_session");
}

#[tokio::test]
async fn expired_auth_session_is_invalid_session() {
    let t = start().await;
    let pkce = pkce();
    let (_, body) = t.begin(ALICE.0, &pkce, &[]).await;
    t.server.clock().advance(901);
    let got = t.step(&session_of(&body), &[("password", ALICE.1)]).await;
    assert_error(got, 400, "invalid_session");
}

#[tokio::test]
async fn completed_auth_session_cannot_be_used_again() {
    let t = start().await;
    let pkce = pkce();
    let (_, body) = t.begin(ALICE.0, &pkce, &[]).await;
    let session = session_of(&body);
    let (status, _) = t.step(&session, &[("password", ALICE.1)]).await;
    assert_eq!(status, 200);
    let got = t.step(&session, &[("password", ALICE.1)]).await;
    assert_error(got, 400, "invalid_session");
}

#[tokio::test]
async fn method_not_offered_is_refused() {
    let t = start().await;
    let pkce = pkce();
    let got = t.begin(CAROL.0, &pkce, &[("method", "email_code")]).await;
    assert_error(got, 400, "invalid_request");
}

#[tokio::test]
async fn wrong_password_says_how_many_attempts_are_left() {
    let t = start().await;
    let pkce = pkce();
    let got = t.begin(ALICE.0, &pkce, &[("password", "wrong")]).await;
    assert_eq!(got.1["attempts_left"], 9);
    assert!(got.1["auth_session"].is_string());
    assert_error(got, 400, "wrong_credential");
}

#[tokio::test]
async fn unknown_account_wrong_password_looks_the_same() {
    let t = start().await;
    let pkce = pkce();
    let got = t
        .begin("nobody@acme.example", &pkce, &[("password", "wrong")])
        .await;
    assert_eq!(got.1["attempts_left"], 9);
    assert_error(got, 400, "wrong_credential");
}

#[tokio::test]
async fn wrong_code_says_how_many_attempts_are_left() {
    let t = start().await;
    let pkce = pkce();
    let (_, body) = t.begin(ALICE.0, &pkce, &[("method", "email_code")]).await;
    let real = t.last_code(ALICE.0).await;
    let wrong = if real == "000000" { "111111" } else { "000000" };
    let got = t.step(&session_of(&body), &[("code", wrong)]).await;
    assert_eq!(got.1["attempts_left"], 4);
    assert_error(got, 400, "wrong_credential");
}

#[tokio::test]
async fn wrong_pkce_verifier_is_invalid_grant() {
    let t = start().await;
    let pkce1 = pkce();
    let other = pkce();
    let (_, body) = t.begin(ALICE.0, &pkce1, &[("password", ALICE.1)]).await;
    let code = body["authorization_code"].as_str().unwrap();
    let got = t
        .post_form(
            "/v1/token",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", CLIENT),
                ("code", code),
                ("code_verifier", &other.verifier),
            ],
        )
        .await;
    assert_error(got, 400, "invalid_grant");
    // The code is used up by the failed attempt.
    let got = t
        .post_form(
            "/v1/token",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", CLIENT),
                ("code", code),
                ("code_verifier", &pkce1.verifier),
            ],
        )
        .await;
    assert_error(got, 400, "invalid_grant");
}

#[tokio::test]
async fn malformed_code_verifier_is_invalid_request() {
    let t = start().await;
    let got = t
        .post_form(
            "/v1/token",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", CLIENT),
                ("code", "ac_x"),
                ("code_verifier", "short"),
            ],
        )
        .await;
    assert_error(got, 400, "invalid_request");
}

#[tokio::test]
async fn reused_authorization_code_is_invalid_grant_and_revokes_its_session() {
    let t = start().await;
    let pkce = pkce();
    let (_, body) = t.begin(ALICE.0, &pkce, &[("password", ALICE.1)]).await;
    let code = body["authorization_code"].as_str().unwrap().to_owned();
    let tokens = t.exchange(&code, &pkce).await;
    let got = t
        .post_form(
            "/v1/token",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", CLIENT),
                ("code", &code),
                ("code_verifier", &pkce.verifier),
            ],
        )
        .await;
    assert_error(got, 400, "invalid_grant");
    assert_eq!(t.get("/v1/userinfo", Some(&tokens.access)).await.0, 401);
}

#[tokio::test]
async fn expired_authorization_code_is_invalid_grant() {
    let t = start().await;
    let pkce = pkce();
    let (_, body) = t.begin(ALICE.0, &pkce, &[("password", ALICE.1)]).await;
    t.server.clock().advance(61);
    let code = body["authorization_code"].as_str().unwrap();
    let got = t
        .post_form(
            "/v1/token",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", CLIENT),
                ("code", code),
                ("code_verifier", &pkce.verifier),
            ],
        )
        .await;
    assert_error(got, 400, "invalid_grant");
}

#[tokio::test]
async fn authorization_code_for_another_client_is_invalid_grant() {
    let t = start().await;
    let pkce = pkce();
    let (_, body) = t.begin(ALICE.0, &pkce, &[("password", ALICE.1)]).await;
    let code = body["authorization_code"].as_str().unwrap();
    let got = t
        .post_form(
            "/v1/token",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "authcore-harness"),
                ("code", code),
                ("code_verifier", &pkce.verifier),
            ],
        )
        .await;
    assert_error(got, 400, "invalid_grant");
}

#[tokio::test]
async fn unknown_grant_type_is_refused() {
    let t = start().await;
    let got = t
        .post_form(
            "/v1/token",
            // `password` is a grant now (for clients allowed to use it).
            &[("grant_type", "client_credentials"), ("client_id", CLIENT)],
        )
        .await;
    assert_error(got, 400, "unsupported_grant_type");
}

#[tokio::test]
async fn unknown_refresh_token_is_invalid_grant() {
    let t = start().await;
    let got = t.refresh("rt_made_up".into()).await;
    assert_error(got, 400, "invalid_grant");
}

#[tokio::test]
async fn expired_refresh_token_is_invalid_grant() {
    let t = start().await;
    let tokens = t.sign_in_password(ALICE).await;
    t.server.clock().advance(30 * 86_400 + 1);
    let got = t.refresh(tokens.refresh).await;
    assert_error(got, 400, "invalid_grant");
}

#[tokio::test]
async fn missing_bearer_token_is_401() {
    let t = start().await;
    assert_error(t.get("/v1/userinfo", None).await, 401, "invalid_token");
}

#[tokio::test]
async fn expired_access_token_is_401() {
    let t = start().await;
    let tokens = t.sign_in_password(ALICE).await;
    t.server.clock().advance(901);
    assert_error(
        t.get("/v1/userinfo", Some(&tokens.access)).await,
        401,
        "invalid_token",
    );
}

#[tokio::test]
async fn unknown_path_is_404_json() {
    let t = start().await;
    assert_error(t.get("/v1/nothing", None).await, 404, "not_found");
}

#[tokio::test]
async fn wrong_method_is_405_json() {
    let t = start().await;
    assert_error(t.get("/v1/token", None).await, 405, "invalid_request");
}

#[tokio::test]
async fn dev_outbox_does_not_exist_without_dev() {
    let t = start_with(test_config(), "sqlite::memory:", false).await;
    assert_error(t.get("/dev/outbox", None).await, 404, "not_found");
}

#[tokio::test]
async fn totp_confirm_without_enrollment_is_refused() {
    let t = start().await;
    let tokens = t.sign_in_mfa(ALICE, None).await;
    let got = t
        .post_json(
            "/v1/me/totp/confirm",
            json!({"code": "123456"}),
            Some(&tokens.access),
        )
        .await;
    assert_error(got, 400, "invalid_request");
}

#[tokio::test]
async fn weak_new_password_is_refused() {
    let t = start().await;
    let got = t
        .post_json(
            "/v1/password/reset",
            json!({"identifier": ALICE.0, "code": "123456", "new_password": "short"}),
            None,
        )
        .await;
    assert_error(got, 400, "weak_password");
}

#[tokio::test]
async fn reset_without_a_code_sent_is_expired() {
    let t = start().await;
    let got = t
        .post_json("/v1/password/reset", json!({"identifier": ALICE.0, "code": "123456", "new_password": "long enough password"}), None)
        .await;
    assert_error(got, 400, "expired");
}

#[tokio::test]
async fn forgot_password_by_phone_is_refused() {
    let t = start().await;
    let got = t
        .post_json(
            "/v1/password/forgot",
            json!({"identifier": "+15555550101"}),
            None,
        )
        .await;
    assert_error(got, 400, "invalid_request");
}
