//! Security events (issue 10, point 1): every change of a user's security information is in
//! `GET /v1/me/security-events` and the sign-in history, and is mailed to the user (with time,
//! IP and user agent, never a secret). A password reset suspends the devices and TOTP added in
//! the 7 days before it until the user confirms them; logout-all names the recent devices.

mod common;
mod phone;

use common::*;
use phone::*;
use serde_json::{json, Value};

async fn messages(t: &TestServer, to: &str) -> Vec<Value> {
    let (_, body) = t.get(&format!("/dev/outbox?to={to}"), None).await;
    body["messages"].as_array().unwrap().clone()
}

/// The newest message with `subject` to `to`.
async fn mail(t: &TestServer, to: &str, subject: &str) -> String {
    messages(t, to)
        .await
        .iter()
        .rev()
        .find(|m| m["subject"] == subject)
        .unwrap_or_else(|| panic!("no mail '{subject}' to {to}"))["body"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn events(t: &TestServer, access: &str) -> Vec<Value> {
    let (status, body) = t.get("/v1/me/security-events", Some(access)).await;
    assert_eq!(status, 200, "{body}");
    body["events"].as_array().unwrap().clone()
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["kind"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_new_authenticator_is_recorded_and_mailed_without_its_activation_code() {
    let t = start().await;
    let alice = t.sign_in_mfa(ALICE, None).await;
    let (_, enrollment) = t.post_bearer("/v1/me/authenticators", &alice.access).await;
    let code = enrollment["activation_code"].as_str().unwrap().to_owned();
    let mut phone = Phone::new("Dave's Pixel");
    let (status, _) = phone.activate(&t, &code, true).await;
    assert_eq!(status, 201);
    let id = enrollment["enrollment_id"].as_str().unwrap();
    let (_, shown) = t
        .get(&format!("/v1/me/authenticators/{id}"), Some(&alice.access))
        .await;
    let test = phone.next_challenge(&t).await;
    phone
        .approve(
            &t,
            test["request_id"].as_str().unwrap(),
            shown["test"]["number"].as_str().unwrap(),
        )
        .await;

    let listed = events(&t, &alice.access).await;
    assert_eq!(kinds(&listed), ["authenticator_added"]);
    assert_eq!(listed[0]["detail"], "Dave's Pixel");
    assert_eq!(listed[0]["ip"], "127.0.0.1");
    assert!(listed[0]["at"].as_u64().unwrap() >= t.now() - 5);
    let body = mail(&t, ALICE.0, "A new authenticator was added").await;
    assert!(
        body.starts_with("A new authenticator 'Dave's Pixel' was added to your account on "),
        "{body}"
    );
    assert!(body.contains(" UTC from 127.0.0.1 ("), "{body}");
    assert!(body.contains("If this wasn't you"), "{body}");
    let plain: String = code.chars().filter(|c| *c != '-').collect();
    assert!(!body.contains(&code) && !body.contains(&plain), "{body}");
    // The sign-in history shows it too.
    let (_, history) = t.get("/v1/me/sign-ins", Some(&alice.access)).await;
    let entry = history["sign_ins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "security_event")
        .cloned()
        .expect("a security event in the history");
    assert_eq!(entry["event"], "authenticator_added");
    assert_eq!(entry["method"], "authenticator_added");
    assert_eq!(entry["detail"], "Dave's Pixel");
    assert_eq!(entry["result"], "success");
}

#[tokio::test]
async fn every_security_change_is_an_event_and_a_mail_without_secrets() {
    let t = start().await;
    let (_, phone) = alice_with_phone(&t).await;
    let alice = sign_in_with_phone(&t, ALICE, &phone).await;
    let mut secrets = vec![ALICE.1.to_owned(), "a new passphrase".to_owned()];

    // TOTP added, replaced, removed.
    for _ in 0..2 {
        let (_, totp) = t.post_bearer("/v1/me/totp", &alice.access).await;
        let secret = totp["secret"].as_str().unwrap().to_owned();
        let code = totp_now(&secret, t.now());
        let (status, body) = t
            .post_json(
                "/v1/me/totp/confirm",
                json!({"code": code}),
                Some(&alice.access),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        secrets.push(secret);
        t.server.clock().advance(30);
    }
    let (status, _) = delete(&t, "/v1/me/totp", &alice.access).await;
    assert_eq!(status, 200);
    // Backup codes.
    let (_, codes) = t.post_bearer("/v1/me/backup-codes", &alice.access).await;
    for c in codes["codes"].as_array().unwrap() {
        secrets.push(c.as_str().unwrap().to_owned());
    }
    // Device removed.
    let (status, _) = delete(
        &t,
        &format!("/v1/me/devices/{}", phone.device_id),
        &alice.access,
    )
    .await;
    assert_eq!(status, 200);
    // Password changed.
    let (status, _) = t
        .post_json(
            "/v1/me/password",
            json!({"current_password": ALICE.1, "new_password": "a new passphrase"}),
            Some(&alice.access),
        )
        .await;
    assert_eq!(status, 200);

    let listed = events(&t, &alice.access).await;
    assert_eq!(
        kinds(&listed),
        [
            "password_changed",
            "device_removed",
            "backup_codes_regenerated",
            "totp_removed",
            "totp_replaced",
            "totp_added",
            "authenticator_added",
        ]
    );
    assert_eq!(listed[1]["detail"], "Alice's Pixel");
    assert_eq!(listed[0]["user_agent"], "authcore-tests/1");
    for subject in [
        "A new authenticator was added",
        "An authenticator app was added",
        "Your authenticator app was replaced",
        "Your authenticator app was removed",
        "New backup codes were created",
        "An authenticator was removed",
        "Your password was changed",
    ] {
        let body = mail(&t, ALICE.0, subject).await;
        assert!(body.contains("(authcore-tests/1)"), "{subject}: {body}");
    }
    assert!(mail(&t, ALICE.0, "An authenticator was removed")
        .await
        .starts_with("The authenticator 'Alice's Pixel' was removed from your account on "));
    for message in messages(&t, ALICE.0).await {
        let body = message["body"].as_str().unwrap();
        for secret in &secrets {
            assert!(
                !body.contains(secret.as_str()),
                "a secret in a mail: {body}"
            );
        }
    }
    // Each is in the sign-in history as a security_event, newest first.
    let (_, history) = t.get("/v1/me/sign-ins", Some(&alice.access)).await;
    let in_history: Vec<&str> = history["sign_ins"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "security_event")
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(in_history, kinds(&listed));
    // Another user sees none of them.
    let bob = t.sign_in_mfa(BOB, Some(BOB_TOTP)).await;
    assert_eq!(events(&t, &bob.access).await, Vec::<Value>::new());
}

#[tokio::test]
async fn security_events_need_a_token() {
    let t = start().await;
    let (status, body) = t.get("/v1/me/security-events", None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );
    let (status, body) = t.get("/v1/me/security-events", Some("at_nonsense")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );
}

async fn reset_password(t: &TestServer, user: &str, new_password: &str) {
    let (status, _) = t
        .post_json("/v1/password/forgot", json!({"identifier": user}), None)
        .await;
    assert_eq!(status, 202);
    let code = t.last_code(user).await;
    let (status, body) = t
        .post_json(
            "/v1/password/reset",
            json!({"identifier": user, "code": code, "new_password": new_password}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_reset_suspends_what_was_added_in_the_week_before_until_it_is_confirmed() {
    let t = start().await;
    let (_, phone) = alice_with_phone(&t).await;
    let alice = sign_in_with_phone(&t, ALICE, &phone).await;
    let (_, totp) = t.post_bearer("/v1/me/totp", &alice.access).await;
    let secret = totp["secret"].as_str().unwrap().to_owned();
    t.post_json(
        "/v1/me/totp/confirm",
        json!({"code": totp_now(&secret, t.now())}),
        Some(&alice.access),
    )
    .await;
    // A push sign-in is waiting when the password is reset.
    let (_, _, waiting) = push_chosen(&t, ALICE.1).await;

    t.server.clock().advance(30);
    reset_password(&t, ALICE.0, "a new passphrase").await;

    // The mail lists what was suspended, by name.
    let body = mail(&t, ALICE.0, "Your password was reset").await;
    assert!(
        body.contains("the authenticator 'Alice's Pixel', the authenticator app (TOTP)"),
        "{body}"
    );
    // The phone can no longer answer, nor see anything to answer.
    let (status, answer) = phone
        .approve(
            &t,
            waiting["request_id"].as_str().unwrap(),
            waiting["number"].as_str().unwrap(),
        )
        .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (404, Some("unknown_request"))
    );
    // Neither the phone nor the TOTP is offered: the password alone signs in (Acme: optional).
    let pkce = common::pkce();
    let (status, body) = t
        .begin(ALICE.0, &pkce, &[("password", "a new passphrase")])
        .await;
    assert_eq!(status, 200, "{body}");
    let plain = t
        .exchange(body["authorization_code"].as_str().unwrap(), &pkce)
        .await;
    let (_, challenges) = phone.challenges(&t, 0).await;
    assert_eq!(challenges["challenges"], json!([]));
    let (_, devices) = t.get("/v1/me/devices", Some(&plain.access)).await;
    assert_eq!(devices["devices"][0]["state"], "suspended");
    let listed = events(&t, &plain.access).await;
    assert_eq!(kinds(&listed)[..2], ["factors_suspended", "password_reset"]);
    assert_eq!(
        listed[0]["detail"],
        "the authenticator 'Alice's Pixel', the authenticator app (TOTP)"
    );

    // Confirming needs a stepped-up session.
    let device = format!("/v1/me/devices/{}/confirm", phone.device_id);
    let (status, body) = t.post_bearer(&device, &plain.access).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "insufficient_user_authentication");
    let (status, body) = t
        .post_bearer("/v1/me/totp/confirm-suspended", &plain.access)
        .await;
    assert_eq!(status, 401, "{body}");
    // With nothing usable left, the password and an email code step up.
    let strong = t.sign_in_mfa((ALICE.0, "a new passphrase"), None).await;
    let (status, body) = t.post_bearer(&device, &strong.access).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "active");
    let (status, body) = t.post_bearer(&device, &strong.access).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, body) = t
        .post_bearer("/v1/me/totp/confirm-suspended", &strong.access)
        .await;
    assert_eq!((status, body), (200, json!({"confirmed": true})));
    let (status, body) = t
        .post_bearer("/v1/me/totp/confirm-suspended", &strong.access)
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, body) = t
        .post_bearer(
            "/v1/me/devices/dv_nosuchdevice0000000000/confirm",
            &strong.access,
        )
        .await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    // The refused confirmations wrote nothing.
    assert_eq!(
        kinds(&events(&t, &strong.access).await)[..3],
        ["factor_confirmed", "factor_confirmed", "factors_suspended"]
    );
    assert!(mail(&t, ALICE.0, "You confirmed an authenticator")
        .await
        .starts_with(
            "The authenticator 'Alice's Pixel' suspended by the password reset was confirmed"
        ));
    // Both work again.
    let pkce = common::pkce();
    let (_, body) = t
        .begin(ALICE.0, &pkce, &[("password", "a new passphrase")])
        .await;
    assert_eq!(
        body["next"],
        json!({"type": "choose_second_factor", "factors": ["push", "totp"]})
    );
    let (session, _, next) = push_chosen(&t, "a new passphrase").await;
    let (status, body) = phone
        .approve(
            &t,
            next["request_id"].as_str().unwrap(),
            next["number"].as_str().unwrap(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = t.step(&session, &[]).await;
    assert_eq!(status, 200, "{body}");
}

/// Alice types `password` and chooses the push among her second factors.
async fn push_chosen(t: &TestServer, password: &str) -> (String, Pkce, Value) {
    let pkce = common::pkce();
    let (_, body) = t.begin(ALICE.0, &pkce, &[("password", password)]).await;
    assert_eq!(body["next"]["type"], "choose_second_factor", "{body}");
    let session = session_of(&body);
    let (_, body) = t.step(&session, &[("method", "push")]).await;
    assert_eq!(body["next"]["type"], "push", "{body}");
    (session, pkce, body["next"].clone())
}

#[tokio::test]
async fn a_suspended_device_can_be_removed_instead() {
    let t = start().await;
    let (_, phone) = alice_with_phone(&t).await;
    reset_password(&t, ALICE.0, "a new passphrase").await;
    let strong = t.sign_in_mfa((ALICE.0, "a new passphrase"), None).await;
    let path = format!("/v1/me/devices/{}", phone.device_id);
    let (status, body) = delete(&t, &path, &strong.access).await;
    assert_eq!((status, body), (200, json!({"removed": true})));
    let (status, body) = phone.challenges(&t, 0).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("unknown_device"))
    );
}

#[tokio::test]
async fn a_reset_leaves_factors_older_than_a_week_alone() {
    let t = start().await;
    let (_, phone) = alice_with_phone(&t).await;
    t.server.clock().advance(8 * 86_400);
    reset_password(&t, ALICE.0, "a new passphrase").await;
    let body = mail(&t, ALICE.0, "Your password was reset").await;
    assert!(!body.contains("suspended"), "{body}");
    let tokens = sign_in_with_phone(&t, (ALICE.0, "a new passphrase"), &phone).await;
    let (_, devices) = t.get("/v1/me/devices", Some(&tokens.access)).await;
    assert_eq!(devices["devices"][0]["state"], "active");
    // Nor does logout-all name it.
    let (status, body) = t.post_bearer("/v1/logout-all", &tokens.access).await;
    assert_eq!(status, 200);
    assert_eq!(body["recent_devices"], json!([]));
}

#[tokio::test]
async fn logout_all_names_the_devices_added_in_the_last_week() {
    let t = start().await;
    let (tokens, phone) = alice_with_phone(&t).await;
    let (status, body) = t.post_bearer("/v1/logout-all", &tokens.access).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["revoked_sessions"], 1);
    let recent = body["recent_devices"].as_array().unwrap();
    assert_eq!(recent.len(), 1, "{body}");
    assert_eq!(recent[0]["device_id"], phone.device_id.as_str());
    assert_eq!(recent[0]["display_name"], "Alice's Pixel");
    assert!(recent[0]["created_at"].as_u64().unwrap() <= t.now());
}
