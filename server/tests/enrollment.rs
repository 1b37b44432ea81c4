//! "Protect your account": the authenticator-required policy with "Skip for now (N left)",
//! enrollment by QR code or typed activation code, and the test approval that finishes it.

mod common;
mod phone;

use authcore::device_protocol::EnrollLink;
use common::*;
use phone::*;
use serde_json::json;

/// Dave (Globex) types his password; returns the session and the answer after the steps before
/// the enrollment prompt (email code on a new device).
async fn dave_until_prompt(
    t: &TestServer,
    device_token: Option<&str>,
) -> (String, Pkce, serde_json::Value) {
    let pkce = pkce();
    let mut extra = vec![("password", DAVE.1)];
    if let Some(token) = device_token {
        extra.push(("device_token", token));
    }
    let (_, mut body) = t.begin(DAVE.0, &pkce, &extra).await;
    let session = session_of(&body);
    if body["next"]["type"] == "verify_device" {
        let code = t.last_code(DAVE.0).await;
        body = t.step(&session, &[("code", &code)]).await.1;
    }
    (session, pkce, body)
}

#[tokio::test]
async fn dave_skips_then_enrolls_by_qr_inside_the_sign_in_then_signs_in_with_push() {
    let t = start().await;

    // Password -> unrecognised device: email code -> "Protect your account. Skip for now (3 left)".
    let pkce1 = pkce();
    let (status, body) = t.begin(DAVE.0, &pkce1, &[("password", DAVE.1)]).await;
    assert_eq!(status, 400);
    assert_eq!(body["next"]["type"], "verify_device");
    let session = session_of(&body);
    let code = t.last_code(DAVE.0).await;
    let (status, body) = t.step(&session, &[("code", &code)]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["next"],
        json!({"type": "enroll_authenticator", "skips_left": 3, "mandatory": false})
    );
    // Asking again shows the same prompt.
    let (_, again) = t.step(&session, &[]).await;
    assert_eq!(again["next"], body["next"]);
    // "Skip for now".
    let (status, body) = t.step(&session, &[("method", "skip_enrollment")]).await;
    assert_eq!(status, 200, "{body}");
    let tokens = t
        .exchange(body["authorization_code"].as_str().unwrap(), &pkce1)
        .await;
    let device_token = tokens.device.clone().unwrap();

    // Next sign-in (recognised device): the prompt again, 2 skips left. Dave sets it up.
    let (session, pkce2, body) = dave_until_prompt(&t, Some(&device_token)).await;
    assert_eq!(
        body["next"],
        json!({"type": "enroll_authenticator", "skips_left": 2, "mandatory": false})
    );
    let (status, body) = t
        .step(&session, &[("method", "enroll_authenticator")])
        .await;
    assert_eq!(status, 400, "{body}");
    let next = &body["next"];
    assert_eq!(next["type"], "activate_authenticator");
    assert_eq!(next["server_url"], t.base.as_str());
    assert_eq!(next["label"], "Globex: dave@globex.example");
    assert!(next["expires_at"].as_u64().unwrap() <= t.now() + 600);
    let typed = next["activation_code"].as_str().unwrap();
    assert_eq!(typed.len(), 14, "three groups of four: {typed}");
    // The QR code carries the same code and the server.
    let link = EnrollLink::parse(next["qr_payload"].as_str().unwrap()).unwrap();
    assert_eq!(link.server_url, t.base);
    assert_eq!(link.activation_code.grouped(), typed);
    assert_eq!(link.label.as_deref(), Some("Globex: dave@globex.example"));

    // The screen waits for the phone; polling shows the same step without the code.
    let (_, waiting) = t.step(&session, &[]).await;
    assert_eq!(waiting["next"]["type"], "activate_authenticator");
    assert!(waiting["next"].get("activation_code").is_none());

    // The phone scans the QR code and registers its key.
    let mut phone = Phone::new("Dave's Pixel");
    let (status, activated) = phone
        .activate(&t, link.activation_code.expose(), true)
        .await;
    assert_eq!(status, 201, "{activated}");
    assert!(activated["device_id"].as_str().unwrap().starts_with("dv_"));
    assert_eq!(activated["account"]["name"], DAVE.0);
    assert_eq!(activated["status"], "approve_test");

    // "Approve the test notification": the screen shows the number, the phone enters it.
    let (status, body) = t.step(&session, &[("wait", "5")]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["next"]["type"], "approve_test_push");
    let number = body["next"]["number"].as_str().unwrap().to_owned();
    let test = phone.next_challenge(&t).await;
    assert_eq!(test["kind"], "test");
    assert_eq!(test["request_id"], activated["test_request_id"]);
    let (status, _) = phone
        .approve(&t, test["request_id"].as_str().unwrap(), &number)
        .await;
    assert_eq!(status, 200);
    let (status, body) = t.step(&session, &[("wait", "5")]).await;
    assert_eq!(status, 200, "{body}");
    let tokens = t
        .exchange(body["authorization_code"].as_str().unwrap(), &pkce2)
        .await;
    let (_, devices) = t.get("/v1/me/devices", Some(&tokens.access)).await;
    assert_eq!(devices["devices"][0]["display_name"], "Dave's Pixel");
    assert_eq!(devices["devices"][0]["state"], "active");
    assert_eq!(devices["devices"][0]["user_verification"], true);

    // Third sign-in: password, then "Enter the number shown to sign in".
    let pkce3 = pkce();
    let (status, body) = t
        .begin(
            DAVE.0,
            &pkce3,
            &[("password", DAVE.1), ("device_token", &device_token)],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["next"]["type"], "push");
    let session = session_of(&body);
    let challenge = phone.next_challenge(&t).await;
    phone
        .approve(
            &t,
            challenge["request_id"].as_str().unwrap(),
            body["next"]["number"].as_str().unwrap(),
        )
        .await;
    let (status, body) = t.step(&session, &[("wait", "5")]).await;
    assert_eq!(status, 200, "{body}");
    let tokens = t
        .exchange(body["authorization_code"].as_str().unwrap(), &pkce3)
        .await;

    // Sign-in history: push, the enrollment sign-in, the new authenticator, the skipped one.
    let (_, history) = t.get("/v1/me/sign-ins", Some(&tokens.access)).await;
    let entries: Vec<&serde_json::Value> = history["sign_ins"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "sign_in")
        .collect();
    assert!(
        history["sign_ins"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "enrollment" && e["result"] == "success"),
        "{history}"
    );
    assert_eq!(
        entries[0]["factors"],
        json!(["password", "push"]),
        "{history}"
    );
    // Dave has no other second factor: each sign-in before the phone proved his email.
    assert_eq!(
        entries[1]["factors"],
        json!(["password", "email_verification", "push"])
    );
    assert_eq!(
        entries[2]["factors"],
        json!(["password", "email_verification"])
    );
}

#[tokio::test]
async fn when_the_skips_run_out_enrollment_is_mandatory() {
    let t = start().await;
    let mut device_token = None;
    for left in [3, 2, 1] {
        // Dave proves his email each time (MFA required, nothing enrolled): space the codes out.
        t.server.clock().advance(200);
        let (session, pkce, body) = dave_until_prompt(&t, device_token.as_deref()).await;
        assert_eq!(body["next"]["skips_left"], left);
        let (status, body) = t.step(&session, &[("method", "skip_enrollment")]).await;
        assert_eq!(status, 200, "{body}");
        let tokens = t
            .exchange(body["authorization_code"].as_str().unwrap(), &pkce)
            .await;
        device_token = device_token.or(tokens.device);
    }
    t.server.clock().advance(200);
    let (session, _, body) = dave_until_prompt(&t, device_token.as_deref()).await;
    assert_eq!(
        body["next"],
        json!({"type": "enroll_authenticator", "skips_left": 0, "mandatory": true}),
        "{body}"
    );
    let (status, body) = t.step(&session, &[("method", "skip_enrollment")]).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "enrollment_required");
    assert_eq!(body["auth_session"], session.as_str());
    // Enrolling is still possible in the same sign-in.
    let (status, body) = t
        .step(&session, &[("method", "enroll_authenticator")])
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["next"]["type"], "activate_authenticator");
}

#[tokio::test]
async fn cant_scan_image_typing_the_code_in_lower_case_with_spaces_works() {
    let t = start().await;
    let alice = t.sign_in_mfa(ALICE, None).await;
    let (status, enrollment) = t.post_bearer("/v1/me/authenticators", &alice.access).await;
    assert_eq!(status, 201, "{enrollment}");
    assert_eq!(enrollment["status"], "waiting_for_device");
    assert_eq!(enrollment["label"], "Acme: alice@acme.example");
    let typed = enrollment["activation_code"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .replace('-', " ");
    let mut phone = Phone::new("Alice's Pixel");
    let (status, activated) = phone.activate(&t, &typed, false).await;
    assert_eq!(status, 201, "{activated}");
    let id = enrollment["enrollment_id"].as_str().unwrap();
    let (_, status_now) = t
        .get(&format!("/v1/me/authenticators/{id}"), Some(&alice.access))
        .await;
    assert_eq!(status_now["status"], "approve_test");
    assert_eq!(status_now["device_id"], activated["device_id"]);
    let number = status_now["test"]["number"].as_str().unwrap();
    // The device is pending until the test approval: it lists, but cannot approve sign-ins yet.
    let (_, devices) = t.get("/v1/me/devices", Some(&alice.access)).await;
    assert_eq!(devices["devices"][0]["state"], "pending");
    let test = phone.next_challenge(&t).await;
    phone
        .approve(&t, test["request_id"].as_str().unwrap(), number)
        .await;
    let (_, done) = t
        .get(
            &format!("/v1/me/authenticators/{id}?wait=5"),
            Some(&alice.access),
        )
        .await;
    assert_eq!(done["status"], "completed");
}

#[tokio::test]
async fn an_activation_code_works_once() {
    let t = start().await;
    let alice = t.sign_in_mfa(ALICE, None).await;
    let (_, enrollment) = t.post_bearer("/v1/me/authenticators", &alice.access).await;
    let code = enrollment["activation_code"].as_str().unwrap();
    let mut first = Phone::new("first");
    let (status, _) = first.activate(&t, code, true).await;
    assert_eq!(status, 201);
    let mut second = Phone::new("second");
    let (status, body) = second.activate(&t, code, true).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_activation_code");
    assert_eq!(
        body["error_description"],
        "the activation code is not valid or was already used; start the enrollment again"
    );
}

#[tokio::test]
async fn an_activation_code_expires_after_ten_minutes() {
    let t = start().await;
    let alice = t.sign_in_mfa(ALICE, None).await;
    let (_, enrollment) = t.post_bearer("/v1/me/authenticators", &alice.access).await;
    assert_eq!(enrollment["expires_at"], t.now() + 600);
    t.server.clock().advance(601);
    let mut phone = Phone::new("late");
    let (status, body) = phone
        .activate(&t, enrollment["activation_code"].as_str().unwrap(), true)
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "expired");
    let id = enrollment["enrollment_id"].as_str().unwrap();
    let (_, shown) = t
        .get(&format!("/v1/me/authenticators/{id}"), Some(&alice.access))
        .await;
    assert_eq!(shown["status"], "expired");
}

#[tokio::test]
async fn bad_activation_requests_get_exact_errors() {
    let t = start().await;
    let alice = t.sign_in_mfa(ALICE, None).await;
    let (_, enrollment) = t.post_bearer("/v1/me/authenticators", &alice.access).await;
    let code = enrollment["activation_code"].as_str().unwrap();
    let mut phone = Phone::new("phone");

    // Not a code at all.
    let (status, body) = phone.activate(&t, "hello", true).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_activation_code");
    assert_eq!(
        body["error_description"],
        "an activation code has 12 letters and digits"
    );

    // Signed by a key other than the one being registered: no proof of possession.
    let body = json!({
        "activation_code": code,
        "public_key": data_encoding::BASE64URL_NOPAD.encode(&phone.spki),
        "display_name": "phone",
        "platform": "android",
    });
    let mut r = phone.request(&t, "POST", "/v1/devices/activate", Some(body.clone()));
    r.key = "other".into();
    let (status, answer) = phone.send(&t, &r).await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(answer["error"], "invalid_signature");

    // Not a P-256 key.
    let mut bad_key = body.clone();
    bad_key["public_key"] = json!("AAAA");
    let r = phone.request(&t, "POST", "/v1/devices/activate", Some(bad_key));
    let (status, answer) = phone.send(&t, &r).await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"], "invalid_request");

    // Missing signature headers.
    let (status, answer) = t.post_json("/v1/devices/activate", body, None).await;
    assert_eq!(status, 400);
    assert_eq!(
        answer["error_description"],
        "the Authcore-Timestamp header is required"
    );

    // The code survived all of that.
    let (status, _) = phone.activate(&t, code, true).await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn a_wrong_number_on_the_test_approval_fails_the_enrollment() {
    let t = start().await;
    let (session, _, _) = dave_until_prompt(&t, None).await;
    let (_, body) = t
        .step(&session, &[("method", "enroll_authenticator")])
        .await;
    let code = body["next"]["activation_code"].as_str().unwrap().to_owned();
    let mut phone = Phone::new("Dave's Pixel");
    phone.activate(&t, &code, true).await;
    let (_, body) = t.step(&session, &[]).await;
    let number = body["next"]["number"].as_str().unwrap();
    let wrong = if number == "11" { "12" } else { "11" };
    let test = phone.next_challenge(&t).await;
    let (status, answer) = phone
        .approve(&t, test["request_id"].as_str().unwrap(), wrong)
        .await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"], "number_mismatch");
    let (status, body) = t.step(&session, &[]).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "number_mismatch");
    // The device was not kept; the prompt is back.
    let (_, body) = t.step(&session, &[]).await;
    assert_eq!(body["next"]["type"], "enroll_authenticator");
    let (status, body) = phone.challenges(&t, 0).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "unknown_device");
}

#[tokio::test]
async fn devices_can_be_listed_renamed_and_removed() {
    let t = start().await;
    let (tokens, phone) = alice_with_phone(&t).await;
    let path = format!("/v1/me/devices/{}", phone.device_id);
    let (status, device) = t.get(&path, Some(&tokens.access)).await;
    assert_eq!(status, 200);
    assert_eq!(device["platform"], "android");
    assert_eq!(device["push_enabled"], false);
    let response = t
        .http
        .patch(format!("{}{path}", t.base))
        .bearer_auth(&tokens.access)
        .json(&json!({"display_name": "Work phone", "push_token": "fcm-token"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let renamed: serde_json::Value = response.json().await.unwrap();
    assert_eq!(renamed["display_name"], "Work phone");
    assert_eq!(renamed["push_enabled"], true);
    // Removing a factor needs a fresh sign-in with a second factor: the phone itself.
    let strong = sign_in_with_phone(&t, ALICE, &phone).await;
    let (status, _) = delete(&t, &path, &strong.access).await;
    assert_eq!(status, 200);
    let (status, body) = delete(&t, &path, &strong.access).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"], "not_found");
    // Someone else's device id is not found either.
    let bob = sign_in_bob(&t).await;
    let (status, _) = t.get(&path, Some(&bob.access)).await;
    assert_eq!(status, 404);
}
