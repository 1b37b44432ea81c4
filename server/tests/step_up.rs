//! Step-up before security changes (issue 10, point 1): a stolen access token alone cannot bind
//! a phone, replace the TOTP secret, regenerate backup codes, change the password or remove a
//! factor. A change needs a sign-in completed in the last `security.step_up_max_age_s` (600 s)
//! with a second factor (the password plus an email code for a user without one), obtained by a
//! sign-in whose first request carries `acr_values=mfa`.

mod common;
mod phone;

use common::*;
use phone::*;
use serde_json::{json, Value};

fn assert_step_up_needed((status, body): (u16, Value)) {
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "insufficient_user_authentication", "{body}");
    assert_eq!(body["max_age"], 600, "{body}");
    assert_eq!(body["acr_values"], "mfa", "{body}");
}

async fn delete(t: &TestServer, path: &str, bearer: &str) -> (u16, Value) {
    phone::delete(t, path, bearer).await
}

#[tokio::test]
async fn the_stolen_token_attack_fails_at_its_first_step() {
    let t = start().await;
    // The attacker holds a token of a sign-in that completed more than 600 s ago...
    let stale = t.sign_in_mfa(ALICE, None).await;
    t.server.clock().advance(601);
    let response = t
        .http
        .post(format!("{}/v1/me/authenticators", t.base))
        .bearer_auth(&stale.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer error=\"insufficient_user_authentication\", max_age=600, acr_values=\"mfa\""
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "insufficient_user_authentication");
    assert_eq!(body["max_age"], 600);
    assert_eq!(body["acr_values"], "mfa");
    // ...or a fresh one from a password-only sign-in of a user without a second factor.
    let password_only = t.sign_in_password(ALICE).await;
    assert_step_up_needed(
        t.post_bearer("/v1/me/authenticators", &password_only.access)
            .await,
    );
    // Nothing was started: no enrollment, no device.
    let (_, devices) = t.get("/v1/me/devices", Some(&password_only.access)).await;
    assert_eq!(devices["devices"], json!([]));
    // The user steps up (password + the emailed code) and the enrollment starts.
    let strong = t.sign_in_mfa(ALICE, None).await;
    let (status, body) = t.post_bearer("/v1/me/authenticators", &strong.access).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "waiting_for_device");
}

#[tokio::test]
async fn refreshing_does_not_make_an_old_sign_in_recent() {
    let t = start().await;
    let tokens = t.sign_in_mfa(ALICE, None).await;
    t.server.clock().advance(601);
    let (status, body) = t.refresh(tokens.refresh.clone()).await;
    assert_eq!(status, 200, "{body}");
    let access = body["access_token"].as_str().unwrap();
    assert_step_up_needed(t.post_bearer("/v1/me/backup-codes", access).await);
}

#[tokio::test]
async fn a_step_up_sign_in_asks_alice_for_an_email_code_after_her_password() {
    let t = start().await;
    let pkce = pkce();
    let (status, body) = t
        .begin(
            ALICE.0,
            &pkce,
            &[("password", ALICE.1), ("acr_values", "mfa")],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["next"]["type"], "verify_device");
    assert_eq!(body["next"]["destination_hint"], "a***@acme.example");
    let code = t.last_code(ALICE.0).await;
    let (status, body) = t.step(&session_of(&body), &[("code", &code)]).await;
    assert_eq!(status, 200, "{body}");
    let tokens = t
        .exchange(body["authorization_code"].as_str().unwrap(), &pkce)
        .await;
    let (_, history) = t.get("/v1/me/sign-ins", Some(&tokens.access)).await;
    assert_eq!(
        history["sign_ins"][0]["factors"],
        json!(["password", "email_verification"])
    );
    let (status, _) = t.post_bearer("/v1/me/backup-codes", &tokens.access).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_step_up_sign_in_with_an_email_code_asks_for_the_password_too() {
    let t = start().await;
    let pkce = pkce();
    let (status, body) = t
        .begin(
            ALICE.0,
            &pkce,
            &[("method", "email_code"), ("acr_values", "mfa")],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["next"]["type"], "email_code");
    let session = session_of(&body);
    let code = t.last_code(ALICE.0).await;
    let (status, body) = t.step(&session, &[("code", &code)]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["next"], json!({"type": "password"}));
    // A wrong password is a wrong password, with the lockout count.
    let (status, body) = t.step(&session, &[("password", "not-her-password")]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "wrong_credential");
    assert_eq!(body["attempts_left"], 9);
    let (status, body) = t.step(&session, &[("password", ALICE.1)]).await;
    assert_eq!(status, 200, "{body}");
    let tokens = t
        .exchange(body["authorization_code"].as_str().unwrap(), &pkce)
        .await;
    let (status, body) = t.post_bearer("/v1/me/totp", &tokens.access).await;
    assert_eq!(status, 200, "{body}");
    // Without acr_values the same email code alone signs in, but is not enough for a change.
    let pkce = common::pkce();
    let (_, body) = t.begin(ALICE.0, &pkce, &[("method", "email_code")]).await;
    t.server.clock().advance(31);
    let code = t.last_code(ALICE.0).await;
    let (status, body) = t.step(&session_of(&body), &[("code", &code)]).await;
    assert_eq!(status, 200, "{body}");
    let code_only = t
        .exchange(body["authorization_code"].as_str().unwrap(), &pkce)
        .await;
    assert_step_up_needed(t.post_bearer("/v1/me/totp", &code_only.access).await);
}

#[tokio::test]
async fn unknown_acr_values_are_refused() {
    let t = start().await;
    for value in ["gold", "mfa phr", "urn:example:loa:2"] {
        let (status, body) = t
            .begin(
                ALICE.0,
                &pkce(),
                &[("password", ALICE.1), ("acr_values", value)],
            )
            .await;
        assert_eq!(status, 400, "{value}: {body}");
        assert_eq!(body["error"], "invalid_request", "{value}: {body}");
        assert!(body.get("auth_session").is_none(), "{body}");
    }
}

#[tokio::test]
async fn once_alice_has_totp_a_step_up_needs_it() {
    let t = start().await;
    // Alice (no second factor yet) steps up with her password and an email code, and enrolls TOTP.
    let alice = t.sign_in_mfa(ALICE, None).await;
    let (_, totp) = t.post_bearer("/v1/me/totp", &alice.access).await;
    let secret = totp["secret"].as_str().unwrap().to_owned();
    let (status, body) = t
        .post_json(
            "/v1/me/totp/confirm",
            json!({"code": totp_now(&secret, t.now())}),
            Some(&alice.access),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // A factor added since the sign-in does not weaken the session that added it...
    let (status, body) = t.post_bearer("/v1/me/backup-codes", &alice.access).await;
    assert_eq!(status, 200, "{body}");
    // ...but once it is old, a step-up sign-in asks for the TOTP code, not an email code.
    t.server.clock().advance(601);
    assert_step_up_needed(t.post_bearer("/v1/me/backup-codes", &alice.access).await);
    let pkce = pkce();
    let (status, body) = t
        .begin(
            ALICE.0,
            &pkce,
            &[("password", ALICE.1), ("acr_values", "mfa")],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["next"],
        json!({"type": "choose_second_factor", "factors": ["totp", "backup_code"]})
    );
    let stronger = t.sign_in_mfa(ALICE, Some(&secret)).await;
    let (status, body) = t.post_bearer("/v1/me/backup-codes", &stronger.access).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn every_security_change_is_refused_to_a_weak_token() {
    let t = start().await;
    let (_, phone) = alice_with_phone(&t).await;
    // Alice has a phone now: a password-only sign-in of hers is weak...
    let pkce1 = pkce();
    let (_, body) = t.begin(ALICE.0, &pkce1, &[("password", ALICE.1)]).await;
    assert_eq!(body["next"]["type"], "push");
    // ...and so is any token older than 600 s.
    let strong = sign_in_with_phone(&t, ALICE, &phone).await;
    t.server.clock().advance(601);
    let weak = &strong.access;
    let device = format!("/v1/me/devices/{}", phone.device_id);
    assert_step_up_needed(t.post_bearer("/v1/me/authenticators", weak).await);
    assert_step_up_needed(t.post_bearer("/v1/me/totp", weak).await);
    assert_step_up_needed(
        t.post_json("/v1/me/totp/confirm", json!({"code": "123456"}), Some(weak))
            .await,
    );
    assert_step_up_needed(t.post_bearer("/v1/me/backup-codes", weak).await);
    assert_step_up_needed(delete(&t, &device, weak).await);
    assert_step_up_needed(delete(&t, "/v1/me/totp", weak).await);
    assert_step_up_needed(
        t.post_json(
            "/v1/me/password",
            json!({"current_password": ALICE.1, "new_password": "a new passphrase"}),
            Some(weak),
        )
        .await,
    );
    // Nothing changed: the phone still approves, the password still works.
    let (_, devices) = t.get("/v1/me/devices", Some(weak)).await;
    assert_eq!(devices["devices"][0]["state"], "active");
    sign_in_with_phone(&t, ALICE, &phone).await;
    // Reading stays allowed with the old token.
    let (status, _) = t.get(&device, Some(weak)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn every_security_change_is_allowed_to_a_stepped_up_token() {
    let t = start().await;
    let (_, phone) = alice_with_phone(&t).await;
    let strong = sign_in_with_phone(&t, ALICE, &phone).await;
    let token = &strong.access;
    let (status, body) = t.post_bearer("/v1/me/authenticators", token).await;
    assert_eq!(status, 201, "{body}");
    let (status, totp) = t.post_bearer("/v1/me/totp", token).await;
    assert_eq!(status, 200, "{totp}");
    let secret = totp["secret"].as_str().unwrap();
    let (status, body) = t
        .post_json(
            "/v1/me/totp/confirm",
            json!({"code": totp_now(secret, t.now())}),
            Some(token),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = t.post_bearer("/v1/me/backup-codes", token).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = delete(&t, "/v1/me/totp", token).await;
    assert_eq!((status, body), (200, json!({"removed": true})));
    let (status, body) = delete(&t, "/v1/me/totp", token).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"], "not_found");
    let device = format!("/v1/me/devices/{}", phone.device_id);
    let (status, body) = delete(&t, &device, token).await;
    assert_eq!((status, body), (200, json!({"removed": true})));
    let (status, body) = t
        .post_json(
            "/v1/me/password",
            json!({"current_password": ALICE.1, "new_password": "a new passphrase"}),
            Some(token),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "password_changed");
}

#[tokio::test]
async fn bob_removes_his_totp_and_then_signs_in_with_a_backup_code() {
    let t = start().await;
    let bob = t.sign_in_mfa(BOB, Some(BOB_TOTP)).await;
    let (status, body) = delete(&t, "/v1/me/totp", &bob.access).await;
    assert_eq!((status, body), (200, json!({"removed": true})));
    let pkce = pkce();
    let (status, body) = t.begin(BOB.0, &pkce, &[("password", BOB.1)]).await;
    assert_eq!(status, 400);
    assert_eq!(body["next"], json!({"type": "backup_code", "remaining": 2}));
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_the_other_sessions() {
    let t = start().await;
    let other = t.sign_in_password(ALICE).await;
    let strong = t.sign_in_mfa(ALICE, None).await;
    // A weak new password.
    let (status, body) = t
        .post_json(
            "/v1/me/password",
            json!({"current_password": ALICE.1, "new_password": "short"}),
            Some(&strong.access),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "weak_password");
    // A wrong current password counts like a wrong sign-in password.
    let (status, body) = t
        .post_json(
            "/v1/me/password",
            json!({"current_password": "not-the-password", "new_password": "a new passphrase"}),
            Some(&strong.access),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "wrong_credential");
    assert_eq!(body["attempts_left"], 9);
    let (status, body) = t
        .begin(ALICE.0, &pkce(), &[("password", "wrong-again")])
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["attempts_left"], 8);
    // Missing fields.
    let (status, body) = t
        .post_json(
            "/v1/me/password",
            json!({"new_password": "a new passphrase"}),
            Some(&strong.access),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    // The right one: the password changes, this session stays, the others end.
    let (status, body) = t
        .post_json(
            "/v1/me/password",
            json!({"current_password": ALICE.1, "new_password": "a new passphrase"}),
            Some(&strong.access),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"status": "password_changed", "revoked_sessions": 1})
    );
    let (status, body) = t.get("/v1/userinfo", Some(&other.access)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );
    let (status, _) = t.get("/v1/userinfo", Some(&strong.access)).await;
    assert_eq!(status, 200);
    let (status, body) = t.begin(ALICE.0, &pkce(), &[("password", ALICE.1)]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("wrong_credential"))
    );
    t.sign_in_password((ALICE.0, "a new passphrase")).await;
}

#[tokio::test]
async fn wrong_current_passwords_lock_the_account() {
    let t = start().await;
    let strong = t.sign_in_mfa(ALICE, None).await;
    let mut last = (0, Value::Null);
    for _ in 0..10 {
        last = t
            .post_json(
                "/v1/me/password",
                json!({"current_password": "not-the-password", "new_password": "a new passphrase"}),
                Some(&strong.access),
            )
            .await;
    }
    assert_eq!(last.0, 403, "{}", last.1);
    assert_eq!(last.1["error"], "locked");
    // Locked for sign-ins too, and for the right current password.
    let (status, body) = t.begin(ALICE.0, &pkce(), &[("password", ALICE.1)]).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("locked")));
    let (status, body) = t
        .post_json(
            "/v1/me/password",
            json!({"current_password": ALICE.1, "new_password": "a new passphrase"}),
            Some(&strong.access),
        )
        .await;
    assert_eq!((status, body["error"].as_str()), (403, Some("locked")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_enrollments_never_exceed_the_pending_cap() {
    let t = std::sync::Arc::new(start().await);
    let alice = t.sign_in_mfa(ALICE, None).await;
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let t = t.clone();
        let access = alice.access.clone();
        tasks.push(tokio::spawn(async move {
            t.post_bearer("/v1/me/authenticators", &access).await
        }));
    }
    let mut created = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            201 => created += 1,
            429 => {
                assert_eq!(body["error"], "slow_down", "{body}");
                let retry_after = body["retry_after"].as_u64().unwrap();
                assert!((1..=600).contains(&retry_after), "{body}");
            }
            _ => panic!("unexpected {status}: {body}"),
        }
    }
    assert_eq!(created, 3, "exactly security.max_pending_enrollments");
    // Once the codes expire, a new enrollment may start (from a fresh step-up).
    t.server.clock().advance(601);
    let again = t.sign_in_mfa(ALICE, None).await;
    let (status, body) = t.post_bearer("/v1/me/authenticators", &again.access).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn a_used_enrollment_no_longer_counts_toward_the_cap() {
    let t = start().await;
    let alice = t.sign_in_mfa(ALICE, None).await;
    let mut codes = Vec::new();
    for _ in 0..3 {
        let (status, body) = t.post_bearer("/v1/me/authenticators", &alice.access).await;
        assert_eq!(status, 201, "{body}");
        codes.push(body["activation_code"].as_str().unwrap().to_owned());
    }
    let (status, body) = t.post_bearer("/v1/me/authenticators", &alice.access).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"], "slow_down");
    let mut phone = Phone::new("Alice's Pixel");
    let (status, _) = phone.activate(&t, &codes[0], true).await;
    assert_eq!(status, 201);
    let (status, body) = t.post_bearer("/v1/me/authenticators", &alice.access).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn discovery_and_openapi_name_the_new_endpoints() {
    let t = start().await;
    let (_, discovery) = t.get("/.well-known/openid-configuration", None).await;
    assert_eq!(
        discovery["security_events_endpoint"],
        format!("{}/v1/me/security-events", t.base)
    );
    assert_eq!(
        discovery["password_change_endpoint"],
        format!("{}/v1/me/password", t.base)
    );
    assert_eq!(discovery["acr_values_supported"], json!(["mfa"]));
    let (_, openapi) = t.get("/openapi.json", None).await;
    for (path, method) in [
        ("/v1/me/password", "post"),
        ("/v1/me/totp", "delete"),
        ("/v1/me/security-events", "get"),
        ("/v1/me/devices/{id}/confirm", "post"),
        ("/v1/me/totp/confirm-suspended", "post"),
    ] {
        assert!(
            openapi["paths"][path][method].is_object(),
            "{method} {path}"
        );
    }
}

#[test]
fn security_config_has_defaults_and_refuses_nonsense() {
    // A config without [security] keeps working with the defaults.
    let demo = demo_toml();
    let start = demo.find("[security]").unwrap();
    let end = demo.find("[push_sender]").unwrap();
    let without = format!("{}{}", &demo[..start], &demo[end..]);
    let config = authcore_server::Config::from_toml(&without).unwrap();
    assert_eq!(config.security.step_up_max_age_s, 600);
    assert_eq!(config.security.reset_review_days, 7);
    assert_eq!(config.security.max_pending_enrollments, 3);
    for (line, message) in [
        (
            "step_up_max_age_s = 0",
            "security.step_up_max_age_s must be 1 to 86400 (a day)",
        ),
        (
            "reset_review_days = 400",
            "security.reset_review_days must be 0 to 365",
        ),
        (
            "max_pending_enrollments = 0",
            "security.max_pending_enrollments must be 1 to 100",
        ),
    ] {
        let text = demo.replacen("[security]", &format!("[security]\n{line}"), 1);
        let text = {
            // The line given replaces the default one.
            let key = line.split(' ').next().unwrap();
            let mut seen = false;
            text.lines()
                .filter(|l| {
                    if l.starts_with(key) {
                        let first = !seen;
                        seen = true;
                        first
                    } else {
                        true
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        let error = authcore_server::Config::from_toml(&text).unwrap_err();
        assert_eq!(error.to_string(), format!("config is not valid: {message}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_wrong_current_passwords_are_checked_at_most_up_to_the_limit() {
    let t = std::sync::Arc::new(start().await);
    let strong = t.sign_in_mfa(ALICE, None).await;
    let mut tasks = Vec::new();
    for _ in 0..30 {
        let t = t.clone();
        let access = strong.access.clone();
        tasks.push(tokio::spawn(async move {
            t.post_json(
                "/v1/me/password",
                json!({"current_password": "not-the-password", "new_password": "a new passphrase"}),
                Some(&access),
            )
            .await
        }));
    }
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match (status, body["error"].as_str()) {
            (400, Some("wrong_credential")) => assert!(body["attempts_left"].as_u64().is_some()),
            (403, Some("locked")) => assert!(body["retry_after"].as_u64().unwrap() > 0),
            other => panic!("unexpected {other:?}: {body}"),
        }
    }
    // Each guess was counted before it was checked: exactly the limit (10) were checked, the
    // rest refused unchecked. The history records every checked one.
    let (_, history) = t.get("/v1/me/sign-ins", Some(&strong.access)).await;
    let checked = history["sign_ins"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "password_change" && e["result"] == "wrong_password")
        .count();
    assert_eq!(checked, 10);
    let (status, body) = t
        .post_json(
            "/v1/me/password",
            json!({"current_password": ALICE.1, "new_password": "a new passphrase"}),
            Some(&strong.access),
        )
        .await;
    assert_eq!((status, body["error"].as_str()), (403, Some("locked")));
}

#[tokio::test]
async fn a_step_up_sign_in_with_an_sms_code_asks_for_the_password_too() {
    let t = start().await;
    let pkce = pkce();
    let phone = "+15555550101";
    let (status, body) = t.begin(phone, &pkce, &[("acr_values", "mfa")]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["next"]["type"], "sms_code");
    let session = session_of(&body);
    let code = t.last_code(phone).await;
    let (status, body) = t.step(&session, &[("code", &code)]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["next"], json!({"type": "password"}));
    let (status, body) = t.step(&session, &[("password", ALICE.1)]).await;
    assert_eq!(status, 200, "{body}");
    let tokens = t
        .exchange(body["authorization_code"].as_str().unwrap(), &pkce)
        .await;
    let (_, history) = t.get("/v1/me/sign-ins", Some(&tokens.access)).await;
    assert_eq!(
        history["sign_ins"][0]["factors"],
        json!(["sms_code", "password"])
    );
    let (status, body) = t.post_bearer("/v1/me/backup-codes", &tokens.access).await;
    assert_eq!(status, 200, "{body}");
}
