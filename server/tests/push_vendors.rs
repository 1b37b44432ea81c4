//! Waking phones through the platforms' push services: FCM HTTP v1 for Android, APNs for iOS,
//! against local stand-ins that check every request as Google's and Apple's documentation
//! define it (JWTs and signatures, grant, headers, HTTP/2, data-only bodies) and answer their
//! documented errors.

mod common;
mod phone;
mod vendors;

use common::*;
use phone::*;
use serde_json::{json, Value};
use vendors::*;

const FCM_TOKEN: &str = "fcm-registration-token-alices-pixel:APA91bH-test";
const APNS_TOKEN: &str = "3f9a0c1e5b7d4a2c8e6f1a3b5c7d9e0f2a4b6c8d0e1f3a5b7c9d1e2f4a6b8c0d";

/// The TOML of a `[push_sender]` naming both stand-ins.
fn platform_toml(google: &StandIn, apple: &StandIn, max_attempts: u32) -> String {
    format!(
        r#"[push_sender]
type = "platform"
max_attempts = {max_attempts}
retry_delay_ms = 10

[push_sender.fcm]
service_account_file = {fcm:?}
base_url = "{fcm_base}"

[push_sender.apns]
key_file = {p8:?}
key_id = "{KEY_ID}"
team_id = "{TEAM_ID}"
topic = "{TOPIC}"
environment = "sandbox"
base_url = "{apns_base}"
ca_file = {ca:?}
"#,
        fcm = google.key_file.display().to_string(),
        fcm_base = google.base,
        p8 = apple.key_file.display().to_string(),
        apns_base = apple.base,
        ca = apple.ca_file.as_ref().unwrap().display().to_string(),
    )
}

/// demo.toml with `[push_sender]` replaced by `push_sender`.
fn config_with(push_sender: &str) -> Result<authcore_server::Config, authcore_server::ConfigError> {
    let demo = demo_toml();
    let start = demo.find("[push_sender]").unwrap();
    let end = start + demo[start..].find("[[clients]]").unwrap();
    let mut config = authcore_server::Config::from_toml(&format!(
        "{}{}\n{}",
        &demo[..start],
        &demo[end..],
        push_sender
    ))?;
    config.argon2.memory_kib = 1024;
    config.argon2.iterations = 1;
    Ok(config)
}

struct Rig {
    t: TestServer,
    google: StandIn,
    apple: StandIn,
}

async fn rig(name: &str, max_attempts: u32) -> Rig {
    let dir = temp_path(name);
    let (google, apple) = (google(&dir).await, apns(&dir).await);
    let config = config_with(&platform_toml(&google, &apple, max_attempts)).unwrap();
    let t = start_with(config, "sqlite::memory:", true).await;
    google.follow(t.server.clock());
    apple.follow(t.server.clock());
    Rig { t, google, apple }
}

/// Alice signed in, with one enrolled phone per `(platform, push token)`; each phone's test
/// approval went through its push service.
async fn alice_with(t: &TestServer, phones: &[(&str, &str)]) -> (Tokens, Vec<Phone>) {
    let tokens = t.sign_in_mfa(ALICE, None).await;
    let mut enrolled = vec![];
    for (i, (platform, token)) in phones.iter().enumerate() {
        let mut phone = Phone::new(&format!("Alice's phone {i}"));
        phone.platform = (*platform).to_owned();
        phone.push_token = Some((*token).to_owned());
        enroll(t, &tokens.access, &mut phone, true).await;
        enrolled.push(phone);
    }
    (tokens, enrolled)
}

/// `push_enabled` of each of the user's devices once it is `expected` (waits up to 5 s).
async fn wait_push_enabled(t: &TestServer, access: &str, expected: bool) -> Vec<Value> {
    for _ in 0..100 {
        let (_, body) = t.get("/v1/me/devices", Some(access)).await;
        let devices = body["devices"].as_array().unwrap().clone();
        if devices.iter().all(|d| d["push_enabled"] == expected) {
            return devices;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("push_enabled never became {expected}");
}

fn no_problems(standin: &StandIn) {
    let problems = standin.seen(|s| s.problems.clone());
    assert!(problems.is_empty(), "{problems:#?}");
}

#[tokio::test]
async fn a_sign_in_push_reaches_fcm_for_an_android_phone_with_the_right_ids() {
    let Rig { t, google, .. } = rig("fcm-delivery", 4).await;
    // Alice adds her Pixel: its test approval wakes it through FCM.
    let (_, phones) = alice_with(&t, &[("android", FCM_TOKEN)]).await;
    google.wait_until(|s| s.delivered.len() == 1).await;

    // She types her password; the sign-in screen shows a number, FCM wakes the phone.
    let (session, pkce, next) = password_then_push(&t, ALICE).await;
    google.wait_until(|s| s.delivered.len() == 2).await;
    let (token, message) = google.seen(|s| s.delivered[1].clone());
    assert_eq!(token, FCM_TOKEN);
    let ttl = message["message"]["android"]["ttl"]
        .as_str()
        .unwrap()
        .to_owned();
    let seconds: u64 = ttl.trim_end_matches('s').parse().unwrap();
    assert!((110..=120).contains(&seconds), "{ttl}");
    // Data only, high priority: the two ids, no notification, no number, no secret.
    assert_eq!(
        message,
        json!({"message": {
            "token": FCM_TOKEN,
            "data": {"device_id": phones[0].device_id, "request_id": next["request_id"]},
            "android": {"priority": "high", "ttl": ttl},
        }})
    );
    no_problems(&google);

    // The phone fetches the request and approves with the number: signed in.
    let challenge = phones[0].next_challenge(&t).await;
    assert_eq!(challenge["request_id"], next["request_id"]);
    let (status, _) = phones[0]
        .approve(
            &t,
            next["request_id"].as_str().unwrap(),
            next["number"].as_str().unwrap(),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = t.step(&session, &[]).await;
    assert_eq!(status, 200, "{body}");
    t.exchange(body["authorization_code"].as_str().unwrap(), &pkce)
        .await;
}

#[tokio::test]
async fn a_sign_in_push_reaches_apns_for_an_iphone_over_http2() {
    let Rig { t, apple, .. } = rig("apns-delivery", 4).await;
    let (_, phones) = alice_with(&t, &[("ios", APNS_TOKEN)]).await;
    apple.wait_until(|s| s.delivered.len() == 1).await;

    let (_, _, next) = password_then_push(&t, ALICE).await;
    apple.wait_until(|s| s.delivered.len() == 2).await;
    let (token, notification) = apple.seen(|s| s.delivered[1].clone());
    assert_eq!(token, APNS_TOKEN);
    assert_eq!(notification["device_id"], phones[0].device_id.as_str());
    assert_eq!(notification["request_id"], next["request_id"]);
    assert_eq!(notification["aps"]["mutable-content"], 1);
    assert!(!notification
        .to_string()
        .contains(&format!("\"{}\"", next["number"].as_str().unwrap())));
    let headers = apple.seen(|s| s.last_headers.clone());
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        header("apns-collapse-id").as_deref(),
        next["request_id"].as_str()
    );
    assert_eq!(
        header("apns-expiration"),
        Some(next["expires_at"].to_string())
    );
    assert_eq!(header("apns-push-type").as_deref(), Some("alert"));
    assert_eq!(header("apns-priority").as_deref(), Some("10"));
    assert_eq!(header("apns-topic").as_deref(), Some(TOPIC));
    assert_eq!(apple.seen(|s| s.versions.clone()), ["HTTP/2.0", "HTTP/2.0"]);
    no_problems(&apple);
}

#[tokio::test]
async fn one_sign_in_wakes_each_phone_through_its_platforms_service() {
    let Rig { t, google, apple } = rig("routing", 4).await;
    // A Pixel, an iPhone, and a phone of a platform no service is configured for.
    let (tokens, phones) = alice_with(
        &t,
        &[
            ("android", FCM_TOKEN),
            ("ios", APNS_TOKEN),
            ("harmonyos", "hms-token"),
        ],
    )
    .await;
    google.wait_until(|s| s.delivered.len() == 1).await;
    apple.wait_until(|s| s.delivered.len() == 1).await;
    let (_, _, next) = password_then_push(&t, ALICE).await;
    google.wait_until(|s| s.delivered.len() == 2).await;
    apple.wait_until(|s| s.delivered.len() == 2).await;
    assert_eq!(
        google.seen(|s| s.delivered[1].1["message"]["data"]["device_id"].clone()),
        phones[0].device_id.as_str()
    );
    assert_eq!(
        apple.seen(|s| s.delivered[1].1["device_id"].clone()),
        phones[1].device_id.as_str()
    );
    assert_eq!(google.seen(|s| s.attempts) + apple.seen(|s| s.attempts), 4);
    // The third phone long-polls; every device keeps its token.
    let challenge = phones[2].next_challenge(&t).await;
    assert_eq!(challenge["request_id"], next["request_id"]);
    wait_push_enabled(&t, &tokens.access, true).await;
    no_problems(&google);
    no_problems(&apple);
}

#[tokio::test]
async fn one_token_exchange_serves_many_pushes_also_at_once() {
    let Rig { t, google, .. } = rig("fcm-exchange", 4).await;
    let pixels: Vec<String> = (0..3).map(|i| format!("{FCM_TOKEN}-{i}")).collect();
    let phones: Vec<(&str, &str)> = pixels.iter().map(|p| ("android", p.as_str())).collect();
    alice_with(&t, &phones).await;
    google.wait_until(|s| s.delivered.len() == 3).await;
    // A sign-in wakes her three phones at once: still the one exchange.
    password_then_push(&t, ALICE).await;
    google.wait_until(|s| s.delivered.len() == 6).await;
    assert_eq!(google.seen(|s| s.exchanges), 1);

    // An hour later the token has expired: four sign-ins at once wake three phones each, and
    // the twelve sends share one new exchange.
    t.server.clock().advance(3600);
    let sign_ins: Vec<_> = (0..4).map(|_| password_then_push(&t, ALICE)).collect();
    for sign_in in sign_ins {
        sign_in.await;
    }
    google.wait_until(|s| s.delivered.len() == 18).await;
    assert_eq!(google.seen(|s| s.exchanges), 2);
    assert_eq!(google.seen(|s| s.attempts), 18);
    no_problems(&google);
}

#[tokio::test]
async fn a_refused_access_token_is_exchanged_again_once() {
    let Rig { t, google, .. } = rig("fcm-401", 4).await;
    alice_with(&t, &[("android", FCM_TOKEN)]).await;
    google.wait_until(|s| s.delivered.len() == 1).await;
    // FCM answers 401 (the token was revoked): one new exchange, then delivered.
    google.script(vec![fcm_error(401, "UNAUTHENTICATED", "UNAUTHENTICATED")]);
    password_then_push(&t, ALICE).await;
    google.wait_until(|s| s.delivered.len() == 2).await;
    assert_eq!(google.seen(|s| (s.exchanges, s.attempts)), (2, 3));
    no_problems(&google);
}

#[tokio::test]
async fn an_unregistered_fcm_token_is_cleared_and_the_phone_still_long_polls() {
    let Rig { t, google, .. } = rig("fcm-unregistered", 4).await;
    let (tokens, phones) = alice_with(&t, &[("android", FCM_TOKEN)]).await;
    google.wait_until(|s| s.delivered.len() == 1).await;
    google.script(vec![fcm_error(404, "NOT_FOUND", "UNREGISTERED")]);
    let (_, _, next) = password_then_push(&t, ALICE).await;
    let devices = wait_push_enabled(&t, &tokens.access, false).await;
    assert_eq!(devices[0]["device_id"], phones[0].device_id.as_str());
    assert_eq!(
        google.seen(|s| s.attempts),
        2,
        "an unregistered token is not retried"
    );
    // The sign-in did not fail: the phone long-polls and approves.
    let challenge = phones[0].next_challenge(&t).await;
    assert_eq!(challenge["request_id"], next["request_id"]);
    let (status, _) = phones[0]
        .approve(
            &t,
            next["request_id"].as_str().unwrap(),
            next["number"].as_str().unwrap(),
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_invalid_fcm_token_is_cleared_but_another_invalid_field_keeps_it() {
    let Rig { t, google, .. } = rig("fcm-invalid", 4).await;
    let (tokens, _) = alice_with(&t, &[("android", FCM_TOKEN)]).await;
    google.wait_until(|s| s.delivered.len() == 1).await;
    // A `BadRequest` about another field is not the token's fault: the next push is delivered.
    google.script(vec![fcm_bad_field()]);
    password_then_push(&t, ALICE).await;
    google.wait_until(|s| s.attempts == 2).await;
    password_then_push(&t, ALICE).await;
    google.wait_until(|s| s.delivered.len() == 2).await;
    // The `FcmError` INVALID_ARGUMENT is the token's: it is cleared.
    google.script(vec![fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")]);
    password_then_push(&t, ALICE).await;
    wait_push_enabled(&t, &tokens.access, false).await;
    assert_eq!(google.seen(|s| s.attempts), 4);
}

#[tokio::test]
async fn a_bad_or_unregistered_apns_token_is_cleared_and_a_new_one_works() {
    let Rig { t, apple, .. } = rig("apns-unregistered", 4).await;
    let (tokens, phones) = alice_with(&t, &[("ios", APNS_TOKEN)]).await;
    apple.wait_until(|s| s.delivered.len() == 1).await;
    apple.script(vec![apns_error(400, "BadDeviceToken")]);
    password_then_push(&t, ALICE).await;
    wait_push_enabled(&t, &tokens.access, false).await;
    // The app registers a new token; APNs later says the app was removed: cleared again.
    let new_token = APNS_TOKEN.replace('3', "4");
    let (status, device) = t
        .http
        .patch(format!("{}/v1/me/devices/{}", t.base, phones[0].device_id))
        .bearer_auth(&tokens.access)
        .json(&json!({ "push_token": new_token }))
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    assert_eq!(status, 200, "{:?}", device.text().await);
    wait_push_enabled(&t, &tokens.access, true).await;
    apple.script(vec![apns_error(410, "Unregistered")]);
    password_then_push(&t, ALICE).await;
    wait_push_enabled(&t, &tokens.access, false).await;
    assert_eq!(apple.seen(|s| s.attempts), 3);
    no_problems(&apple);
}

#[tokio::test]
async fn fcm_unavailable_then_quota_exceeded_is_delivered_after_retries() {
    let Rig { t, google, .. } = rig("fcm-retries", 4).await;
    alice_with(&t, &[("android", FCM_TOKEN)]).await;
    google.wait_until(|s| s.delivered.len() == 1).await;
    google.script(vec![
        fcm_error(503, "UNAVAILABLE", "UNAVAILABLE"),
        fcm_error(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED").retry_after(1),
        fcm_error(500, "INTERNAL", "INTERNAL"),
    ]);
    let (_, _, next) = password_then_push(&t, ALICE).await;
    google.wait_until(|s| s.delivered.len() == 2).await;
    assert_eq!(
        google.seen(|s| s.attempts),
        5,
        "1 test push + 3 refused + 1 delivered"
    );
    assert_eq!(
        google.seen(|s| s.delivered[1].1["message"]["data"]["request_id"].clone()),
        next["request_id"]
    );
    assert_eq!(google.seen(|s| s.exchanges), 1);
    no_problems(&google);
}

#[tokio::test]
async fn apns_too_many_requests_and_server_errors_are_retried_then_given_up() {
    let Rig { t, apple, .. } = rig("apns-retries", 3).await;
    let (tokens, _) = alice_with(&t, &[("ios", APNS_TOKEN)]).await;
    apple.wait_until(|s| s.delivered.len() == 1).await;
    apple.script(vec![
        apns_error(429, "TooManyRequests"),
        apns_error(500, "InternalServerError"),
    ]);
    password_then_push(&t, ALICE).await;
    apple.wait_until(|s| s.delivered.len() == 2).await;
    assert_eq!(apple.seen(|s| s.attempts), 4);
    // Three 503s in a row: given up after max_attempts = 3; the token is kept.
    apple.script(vec![apns_error(503, "ServiceUnavailable"); 3]);
    password_then_push(&t, ALICE).await;
    apple.wait_until(|s| s.attempts == 7).await;
    password_then_push(&t, ALICE).await;
    apple.wait_until(|s| s.delivered.len() == 3).await;
    assert_eq!(apple.seen(|s| s.attempts), 8);
    wait_push_enabled(&t, &tokens.access, true).await;
    no_problems(&apple);
}

#[tokio::test]
async fn the_apns_provider_token_is_reused_and_renewed_within_the_hour() {
    let Rig { t, apple, .. } = rig("apns-provider-token", 4).await;
    alice_with(&t, &[("ios", APNS_TOKEN)]).await;
    apple.wait_until(|s| s.delivered.len() == 1).await;
    for n in 2..=4 {
        password_then_push(&t, ALICE).await;
        apple.wait_until(|s| s.delivered.len() == n).await;
    }
    assert_eq!(
        apple.seen(|s| s.credentials.len()),
        1,
        "one provider token for four pushes"
    );
    // 50 minutes later (Apple: at most 60, at least 20 between renewals) a new one is signed.
    t.server.clock().advance(50 * 60);
    password_then_push(&t, ALICE).await;
    apple.wait_until(|s| s.delivered.len() == 5).await;
    let issued = apple.seen(|s| s.issued_at.clone());
    assert_eq!(issued.len(), 2);
    assert!(issued[1] >= issued[0] + 50 * 60, "{issued:?}");
    no_problems(&apple);
}

#[tokio::test]
async fn an_expired_provider_token_is_replaced_and_the_push_sent_once_more() {
    let Rig { t, apple, .. } = rig("apns-expired-token", 1).await;
    alice_with(&t, &[("ios", APNS_TOKEN)]).await;
    apple.wait_until(|s| s.delivered.len() == 1).await;
    apple.script(vec![apns_error(403, "ExpiredProviderToken")]);
    password_then_push(&t, ALICE).await;
    apple.wait_until(|s| s.delivered.len() == 2).await;
    assert_eq!(apple.seen(|s| (s.attempts, s.credentials.len())), (3, 2));
    no_problems(&apple);
}

#[tokio::test]
async fn bad_key_files_stop_the_server_at_start_up_with_the_exact_error() {
    let dir = temp_path("bad-keys");
    let (google, apple) = (google(&dir).await, apns(&dir).await);
    let account: Value =
        serde_json::from_str(&std::fs::read_to_string(&google.key_file).unwrap()).unwrap();
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let with_key = |pkcs1: bool, drop: Option<&str>, token_uri: Option<&str>| {
        let mut account = account.clone();
        if pkcs1 {
            account["private_key"] = json!(std::fs::read_to_string(format!(
                "{FIXTURES}/fcm-service-account.pkcs1.pem"
            ))
            .unwrap());
        }
        if let Some(field) = drop {
            account.as_object_mut().unwrap().remove(field);
        }
        if let Some(uri) = token_uri {
            account["token_uri"] = json!(uri);
        }
        account.to_string()
    };
    let rsa_p8 = write(
        "rsa.p8",
        std::fs::read_to_string(format!("{FIXTURES}/fcm-service-account.pem")).unwrap(),
    );
    let cases = [
        (Some(dir.join("missing.json")), None, "push_sender.fcm.service_account_file {}: No such file or directory (os error 2)"),
        (Some(write("pkcs1.json", with_key(true, None, None))), None, "push_sender.fcm.service_account_file {}: private_key is not a PKCS#8 PEM RSA key"),
        (Some(write("no-email.json", with_key(false, Some("client_email"), None))), None, "push_sender.fcm.service_account_file {}: not a service account key file (missing field `client_email`)"),
        (Some(write("not-json.json", "client_email = x".into())), None, "push_sender.fcm.service_account_file {}: not a service account key file (JSON with client_email, private_key, token_uri, project_id)"),
        (Some(write("http.json", with_key(false, None, Some("http://oauth2.example/token")))), None, "push_sender.fcm.service_account_file token_uri \"http://oauth2.example/token\" must be an https URL"),
        (None, Some(dir.join("AuthKey_missing.p8")), "push_sender.apns.key_file {}: No such file or directory (os error 2)"),
        (None, Some(rsa_p8.clone()), "push_sender.apns.key_file {}: not a PKCS#8 PEM EC P-256 key (the .p8 file from Apple)"),
    ];
    let private_key = account["private_key"]
        .as_str()
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_owned();
    for (fcm, apns, expected) in cases {
        let mut fcm_rig = google.clone();
        let mut apns_rig = apple.clone();
        let path = fcm.clone().or(apns.clone()).unwrap();
        if let Some(fcm) = fcm {
            fcm_rig.key_file = fcm;
        }
        if let Some(apns) = apns {
            apns_rig.key_file = apns;
        }
        let config = config_with(&platform_toml(&fcm_rig, &apns_rig, 4)).unwrap();
        let options = authcore_server::ServerOptions::new(
            config,
            "sqlite::memory:",
            "127.0.0.1:0".parse().unwrap(),
        );
        let error = authcore_server::start(options)
            .await
            .err()
            .expect("refused")
            .to_string();
        assert_eq!(error, expected.replace("{}", &path.display().to_string()));
        assert!(!error.contains(&private_key), "no key material in {error}");
    }
    // Checked on load: what the config itself says.
    for (toml, expected) in [
        ("[push_sender]\ntype = \"platform\"\n", "config is not valid: push_sender type \"platform\" needs [push_sender.fcm], [push_sender.apns] or both"),
        ("[push_sender]\ntype = \"platform\"\nmax_attempts = 0\n[push_sender.fcm]\nservice_account_file = \"x.json\"\n", "config is not valid: push_sender.max_attempts must be 1 to 10 and push_sender.retry_delay_ms at most 60000"),
        ("[push_sender]\ntype = \"platform\"\n[push_sender.apns]\nkey_file = \"k.p8\"\nkey_id = \"ABC\"\nteam_id = \"DEF123GHIJ\"\ntopic = \"com.example.app\"\n", "config is not valid: push_sender.apns.key_id must be the key's 10-character id"),
        ("[push_sender]\ntype = \"platform\"\n[push_sender.apns]\nkey_file = \"k.p8\"\nkey_id = \"ABC123DEFG\"\nteam_id = \"DEF123GHIJ\"\ntopic = \"com.example.app\"\nenvironment = \"staging\"\n", "config is not valid: unknown variant `staging`, expected `production` or `sandbox`"),
    ] {
        assert_eq!(config_with(toml).unwrap_err().to_string(), expected);
    }
}

#[tokio::test]
async fn existing_push_sender_configs_parse_unchanged_and_debug_shows_no_secret() {
    let none = config_with("[push_sender]\ntype = \"none\"\n").unwrap();
    assert!(matches!(
        none.push_sender,
        authcore_server::config::PushSenderConfig::None
    ));
    let hook = config_with("[push_sender]\ntype = \"webhook\"\nurl = \"https://relay.example/wake\"\nbearer_token = \"relay-secret-42\"\n").unwrap();
    let debug = format!("{hook:?}");
    assert!(
        debug.contains("https://relay.example/wake") && !debug.contains("relay-secret-42"),
        "{debug}"
    );
    let dir = temp_path("debug-config");
    let (google, apple) = (google(&dir).await, apns(&dir).await);
    let platform = config_with(&platform_toml(&google, &apple, 4)).unwrap();
    let debug = format!("{:?}", platform.push_sender);
    assert!(
        debug.contains("service-account.json") && debug.contains(KEY_ID),
        "{debug}"
    );
    let key = std::fs::read_to_string(&apple.key_file).unwrap();
    assert!(!debug.contains(key.lines().nth(1).unwrap()), "{debug}");
}

#[tokio::test]
async fn failed_sends_are_logged_without_tokens_or_keys() {
    let logs = CapturedLogs::install();
    let Rig { t, google, apple } = rig("push-vendor-logs", 2).await;
    let (tokens, phones) = alice_with(&t, &[("android", FCM_TOKEN), ("ios", APNS_TOKEN)]).await;
    google.wait_until(|s| s.delivered.len() == 1).await;
    apple.wait_until(|s| s.delivered.len() == 1).await;
    google.script(vec![fcm_error(404, "NOT_FOUND", "UNREGISTERED")]);
    apple.script(vec![apns_error(503, "ServiceUnavailable"); 2]);
    password_then_push(&t, ALICE).await;
    apple.wait_until(|s| s.attempts == 3).await;
    // The FCM token is cleared; the iPhone's stays (APNs was only unavailable).
    for _ in 0..100 {
        let text = logs.text();
        if text.contains("push token cleared") && text.contains("gave up after 2 attempts") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (_, devices) = t.get("/v1/me/devices", Some(&tokens.access)).await;
    let enabled = |phone: &Phone| {
        devices["devices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["device_id"] == phone.device_id.as_str())
            .map(|d| d["push_enabled"].clone())
    };
    assert_eq!(enabled(&phones[0]), Some(json!(false)), "the Pixel's token");
    assert_eq!(enabled(&phones[1]), Some(json!(true)), "the iPhone's token");
    let text = logs.text();
    assert!(
        text.contains("push token cleared") && text.contains("UNREGISTERED"),
        "{text}"
    );
    assert!(
        text.contains("APNs answered 503 ServiceUnavailable; gave up after 2 attempts"),
        "{text}"
    );
    let mut secrets: Vec<String> = vec![FCM_TOKEN.into(), APNS_TOKEN.into()];
    secrets.extend(google.seen(|s| s.credentials.clone()));
    secrets.extend(apple.seen(|s| s.credentials.clone()));
    let fixture = std::path::PathBuf::from(format!("{FIXTURES}/fcm-service-account.pem"));
    for file in [&fixture, &apple.key_file] {
        let text = std::fs::read_to_string(file).unwrap();
        secrets.push(text.lines().nth(1).unwrap().chars().take(40).collect());
    }
    for secret in secrets {
        assert!(!text.contains(&secret), "{secret} is in the logs");
    }
}
