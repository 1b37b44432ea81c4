//! The phone second factors: "Verify your identity" offers a text (`sms`) and a call (`voice`)
//! to a verified phone number, shown masked; the code is checked like an email code, with the
//! same named limits; a call for a user without a phone is refused.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use authcore_server::Config;
use common::*;
use serde_json::{json, Value};

/// Erin: a verified phone number and TOTP.
const ERIN: (&str, &str) = ("erin@acme.example", "erin-demo-password");
const ERIN_PHONE: &str = "+15555550163";
const ERIN_TOTP: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
/// Fay: a verified phone number and nothing else.
const FAY: (&str, &str) = ("fay@acme.example", "fay-demo-password");
const FAY_PHONE: &str = "+447700900123";

fn phone_config() -> Config {
    let toml = format!(
        r#"{}
[[dev_users]]
email = "{}"
name = "Erin Acme"
password = "{}"
phone = "{ERIN_PHONE}"
phone_verified = true
totp_secret = "{ERIN_TOTP}"

[[dev_users]]
email = "{}"
name = "Fay Acme"
password = "{}"
phone = "{FAY_PHONE}"
phone_verified = true
"#,
        demo_toml(),
        ERIN.0,
        ERIN.1,
        FAY.0,
        FAY.1
    );
    let mut config = Config::from_toml(&toml).expect("config with phone users");
    config.argon2.memory_kib = 1024;
    config.argon2.iterations = 1;
    config
}

/// Password accepted: "Verify your identity".
async fn verify_your_identity(t: &TestServer, user: (&str, &str), p: &Pkce) -> (String, Value) {
    let (status, body) = t.begin(user.0, p, &[("password", user.1)]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["next"]["type"], "choose_second_factor", "{body}");
    (session_of(&body), body["next"].clone())
}

#[tokio::test]
async fn erin_gets_a_text_with_her_masked_number_and_signs_in_with_it() {
    let t = start_with(phone_config(), "sqlite::memory:", true).await;
    let p = pkce();
    let (session, next) = verify_your_identity(&t, ERIN, &p).await;
    assert_eq!(
        next,
        json!({"type": "choose_second_factor", "factors": ["totp", "sms", "voice"],
               "phone_hint": "+X XXX-XXX-XX63"})
    );
    let (status, body) = t.step(&session, &[("method", "sms")]).await;
    assert_eq!(status, 400, "{body}");
    let now = t.now();
    assert_eq!(
        body["next"],
        json!({"type": "sms_code", "channel": "sms", "destination_hint": "+X XXX-XXX-XX63",
               "length": 6, "expires_at": now + 600, "resend_after": 30})
    );
    let message = t.last_message(ERIN_PHONE).await;
    assert_eq!(message["channel"], "sms");
    let code = code_in(message["body"].as_str().unwrap());
    let (status, body) = t.step(&session, &[("code", &code)]).await;
    assert_eq!(status, 200, "{body}");
    let tokens = t
        .exchange(body["authorization_code"].as_str().unwrap(), &p)
        .await;
    let (_, history) = t.get("/v1/me/sign-ins", Some(&tokens.access)).await;
    assert_eq!(
        history["sign_ins"][0]["factors"],
        json!(["password", "sms"])
    );
    // A text is a second factor: the session may make security changes.
    let (status, body) = t.post_bearer("/v1/me/backup-codes", &tokens.access).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voice_call_reads_the_code_through_the_delivery_webhook() {
    use axum::routing::post;
    let logs = CapturedLogs::install();
    let received = Arc::new(Mutex::new(Vec::<Value>::new()));
    let sink = received.clone();
    let hook = axum::Router::new().route(
        "/deliver",
        post(move |axum::Json(body): axum::Json<Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, hook).await.unwrap() });
    let mut config = phone_config();
    config.sms_webhook = Some(authcore_server::config::SmsWebhookConfig {
        url: format!("http://{addr}/deliver"),
        bearer_token: None,
    });
    let t = start_with(config, "sqlite::memory:", true).await;

    let p = pkce();
    let (session, next) = verify_your_identity(&t, FAY, &p).await;
    assert_eq!(
        next,
        json!({"type": "choose_second_factor", "factors": ["sms", "voice"],
               "phone_hint": "+XX XXX-XXX-XX23"})
    );
    let (_, body) = t.step(&session, &[("method", "voice")]).await;
    assert_eq!(body["next"]["type"], "sms_code", "{body}");
    assert_eq!(body["next"]["channel"], "voice");
    assert_eq!(body["next"]["destination_hint"], "+XX XXX-XXX-XX23");
    let deadline = Instant::now() + Duration::from_secs(30);
    let call = loop {
        if let Some(call) = received.lock().unwrap().first().cloned() {
            break call;
        }
        assert!(Instant::now() < deadline, "no call reached the webhook");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(call["channel"], "voice");
    assert_eq!(call["to"], FAY_PHONE);
    let spoken = call["body"].as_str().unwrap();
    let code = code_in(spoken);
    let digits: Vec<String> = code.chars().map(String::from).collect();
    assert_eq!(
        spoken,
        format!(
            "Your code is {code}. Once more: {}. It expires in 10 minutes.",
            digits.join(", ")
        )
    );
    let (status, body) = t.step(&session, &[("code", &code)]).await;
    assert_eq!(status, 200, "{body}");
    let tokens = t
        .exchange(body["authorization_code"].as_str().unwrap(), &p)
        .await;
    let (_, history) = t.get("/v1/me/sign-ins", Some(&tokens.access)).await;
    assert_eq!(
        history["sign_ins"][0]["factors"],
        json!(["password", "voice"])
    );
    let text = logs.text();
    assert!(!text.contains(&code), "the code reached the logs");
    assert!(!text.contains(FAY_PHONE), "the number reached the logs");
}

#[tokio::test]
async fn a_voice_call_for_a_user_without_a_phone_is_refused() {
    let t = start_with(phone_config(), "sqlite::memory:", true).await;
    let p = pkce();
    let (session, next) = verify_your_identity(&t, BOB, &p).await;
    // No number: neither phone factor is offered, and there is nothing to mask.
    assert_eq!(
        next,
        json!({"type": "choose_second_factor", "factors": ["totp", "backup_code"]})
    );
    for factor in ["voice", "sms"] {
        let (status, body) = t.step(&session, &[("method", factor)]).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "invalid_request");
        assert_eq!(
            body["error_description"],
            format!("`{factor}` needs a verified phone number and this account has none; choose another second factor: totp, backup_code")
        );
    }
}

#[tokio::test]
async fn an_unverified_phone_is_no_second_factor() {
    // Alice's number signs her in by SMS but was never verified as a second factor.
    let t = start_with(phone_config(), "sqlite::memory:", true).await;
    let p = pkce();
    let (status, body) = t.begin(ALICE.0, &p, &[("password", ALICE.1)]).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_text_sign_in_is_not_asked_for_a_text_again() {
    let t = start_with(phone_config(), "sqlite::memory:", true).await;
    let p = pkce();
    let (_, body) = t.begin(ERIN_PHONE, &p, &[]).await;
    assert_eq!(body["next"]["type"], "sms_code", "{body}");
    let code = t.last_code(ERIN_PHONE).await;
    let (status, body) = t.step(&session_of(&body), &[("code", &code)]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["next"], json!({"type": "totp", "length": 6}));
}

#[tokio::test]
async fn the_phone_factors_have_the_email_code_s_named_limits() {
    let t = start_with(phone_config(), "sqlite::memory:", true).await;
    let p = pkce();
    let (session, _) = verify_your_identity(&t, FAY, &p).await;
    let (_, body) = t.step(&session, &[("method", "sms")]).await;
    assert_eq!(body["next"]["channel"], "sms", "{body}");
    // Asking again at once: the resend delay, named.
    let (status, body) = t.step(&session, &[("method", "sms")]).await;
    assert_eq!((status, body["error"].as_str()), (429, Some("slow_down")));
    assert_eq!(body["retry_after"], 30);
    assert_eq!(
        body["limit"],
        json!({"of": "code_resend", "count": 1, "window_s": 30})
    );
    // A call instead shares the resend delay: it is the same code being sent again.
    let (status, body) = t.step(&session, &[("method", "voice")]).await;
    assert_eq!(
        (status, body["limit"]["of"].as_str()),
        (429, Some("code_resend"))
    );
    t.server.clock().advance(30);
    let (_, body) = t.step(&session, &[("method", "voice")]).await;
    assert_eq!(body["next"]["channel"], "voice", "{body}");
    t.server.clock().advance(30);
    let (_, body) = t.step(&session, &[("method", "sms")]).await;
    assert_eq!(body["next"]["channel"], "sms", "{body}");
    t.server.clock().advance(30);
    // Three sends in ten minutes to the number: the fourth is capped, named.
    let (status, body) = t.step(&session, &[("method", "voice")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("slow_down")),
        "{body}"
    );
    assert_eq!(
        body["error_description"],
        "too many codes were sent; wait before asking for another"
    );
    assert_eq!(
        body["limit"],
        json!({"of": "codes_sent", "count": 3, "window_s": 600})
    );
    // Wrong codes: five attempts per code, counted down, then the code is dead.
    let code = t.last_code(FAY_PHONE).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in (0..5).rev() {
        let (status, body) = t.step(&session, &[("code", wrong)]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("wrong_credential")),
            "{body}"
        );
        assert_eq!(body["attempts_left"], left);
    }
    let (status, body) = t.step(&session, &[("code", &code)]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("expired")));
    assert_eq!(
        body["error_description"],
        "the code expired or has no attempts left; ask for a new one"
    );
}
