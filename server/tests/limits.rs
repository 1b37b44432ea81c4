//! Limits: code attempts, code expiry, send caps, password lockout, per-IP throttling. Time is
//! moved with the server's clock, never waited for.

mod common;

use common::*;

#[tokio::test]
async fn a_code_dies_after_five_wrong_attempts() {
    let t = start().await;
    let p = pkce();
    let (_, body) = t.begin(ALICE.0, &p, &[("method", "email_code")]).await;
    let session = session_of(&body);
    let real = t.last_code(ALICE.0).await;
    let wrong = if real == "000000" { "111111" } else { "000000" };
    for left in (0..5).rev() {
        let (status, body) = t.step(&session, &[("code", wrong)]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("wrong_credential"))
        );
        assert_eq!(body["attempts_left"], left);
    }
    let (status, body) = t.step(&session, &[("code", &real)]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("expired")));
}

#[tokio::test]
async fn a_code_expires_after_ten_minutes() {
    let t = start().await;
    let p = pkce();
    let (_, body) = t.begin(ALICE.0, &p, &[("method", "email_code")]).await;
    let code = t.last_code(ALICE.0).await;
    t.server.clock().advance(600);
    let (status, body) = t.step(&session_of(&body), &[("code", &code)]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("expired")));
}

#[tokio::test]
async fn at_most_three_codes_per_ten_minutes_per_identifier() {
    let t = start().await;
    for _ in 0..3 {
        let p = pkce();
        let (status, body) = t.begin(ALICE.0, &p, &[("method", "email_code")]).await;
        assert_eq!(body["next"]["type"], "email_code", "{status} {body}");
    }
    let p = pkce();
    let (status, body) = t.begin(ALICE.0, &p, &[("method", "email_code")]).await;
    assert_eq!((status, body["error"].as_str()), (429, Some("slow_down")));
    assert_eq!(body["retry_after"], 600);
    // The limit is named, so the screen can say "3 codes were sent in 10 minutes".
    assert_eq!(
        body["limit"],
        serde_json::json!({"of": "codes_sent", "count": 3, "window_s": 600})
    );
    t.server.clock().advance(600);
    let (_, body) = t.begin(ALICE.0, &p, &[("method", "email_code")]).await;
    assert_eq!(body["next"]["type"], "email_code");
}

#[tokio::test]
async fn unknown_identifiers_hit_the_same_send_cap() {
    let t = start().await;
    for _ in 0..3 {
        let p = pkce();
        let (_, body) = t
            .begin("ghost@acme.example", &p, &[("method", "email_code")])
            .await;
        assert_eq!(body["next"]["type"], "email_code");
    }
    let p = pkce();
    let (status, body) = t
        .begin("ghost@acme.example", &p, &[("method", "email_code")])
        .await;
    assert_eq!((status, body["error"].as_str()), (429, Some("slow_down")));
}

#[tokio::test]
async fn ten_wrong_passwords_lock_the_account_for_fifteen_minutes() {
    let t = start().await;
    let p = pkce();
    let (_, body) = t.begin(ALICE.0, &p, &[]).await;
    let session = session_of(&body);
    for left in (1..10).rev() {
        let (_, body) = t.step(&session, &[("password", "wrong")]).await;
        assert_eq!(body["attempts_left"], left);
    }
    let (status, body) = t.step(&session, &[("password", "wrong")]).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("locked")));
    assert_eq!(body["retry_after"], 900);
    // Even the right password waits.
    let (status, body) = t.step(&session, &[("password", ALICE.1)]).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("locked")));
    t.server.clock().advance(600);
    let p = pkce();
    let (status, body) = t.begin(ALICE.0, &p, &[("password", ALICE.1)]).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("locked")));
    assert_eq!(body["retry_after"], 300);
    t.server.clock().advance(300);
    let (status, body) = t.begin(ALICE.0, &p, &[("password", ALICE.1)]).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_success_resets_the_wrong_password_count() {
    let t = start().await;
    for _ in 0..9 {
        let p = pkce();
        t.begin(ALICE.0, &p, &[("password", "wrong")]).await;
    }
    t.sign_in_password(ALICE).await;
    let p = pkce();
    let (_, body) = t.begin(ALICE.0, &p, &[("password", "wrong")]).await;
    assert_eq!(body["attempts_left"], 9);
}

#[tokio::test]
async fn one_address_with_too_many_failures_is_slowed_down() {
    let mut config = test_config();
    config.throttle.max_failures_per_ip = 3;
    config.throttle.window_s = 60;
    let t = start_with(config, "sqlite::memory:", true).await;
    for user in ["a@x.example", "b@x.example", "c@x.example"] {
        let p = pkce();
        let (_, body) = t.begin(user, &p, &[("password", "wrong")]).await;
        assert_eq!(body["error"], "wrong_credential");
    }
    let p = pkce();
    let (status, body) = t.begin(ALICE.0, &p, &[("password", ALICE.1)]).await;
    assert_eq!((status, body["error"].as_str()), (429, Some("slow_down")));
    assert!(body["retry_after"].as_u64().unwrap() <= 60);
    assert_eq!(
        body["limit"],
        serde_json::json!({"of": "failed_attempts", "count": 3, "window_s": 60})
    );
    t.server.clock().advance(61);
    let (status, _) = t.begin(ALICE.0, &p, &[("password", ALICE.1)]).await;
    assert_eq!(status, 200);
}
