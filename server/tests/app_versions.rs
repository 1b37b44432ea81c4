//! The phone app's version and its push token, as the device API sees them: an app older than
//! number matching is told to update (and sign-ins stop sending it requests it cannot show), and
//! the app replaces or clears its OS push token with a signed request.

mod common;
mod phone;

use common::*;
use phone::*;
use serde_json::{json, Value};

const TOO_OLD_FOR_THE_DEVICE: &str =
    "this app is too old to show sign-in numbers; update it to approve sign-ins";
const TOO_OLD_FOR_THE_SIGN_IN: &str = "the authenticator app on your phone must be updated to show sign-in numbers; update it, or choose another way to sign in";

async fn push_token(t: &TestServer, phone: &Phone, token: Value) -> (u16, Value) {
    let r = phone.request(
        t,
        "POST",
        "/v1/devices/push-token",
        Some(json!({ "push_token": token })),
    );
    phone.send(t, &r).await
}

async fn push_enabled(t: &TestServer, access: &str) -> Value {
    let (status, list) = t.get("/v1/me/devices", Some(access)).await;
    assert_eq!(status, 200, "{list}");
    list["devices"][0]["push_enabled"].clone()
}

#[tokio::test]
async fn an_app_older_than_number_matching_cannot_activate_until_it_is_updated() {
    let t = start().await;
    let tokens = t.sign_in_mfa(ALICE, None).await;
    let (_, enrollment) = t.post_bearer("/v1/me/authenticators", &tokens.access).await;
    let code = enrollment["activation_code"].as_str().unwrap();

    for version in [None, Some(1)] {
        let mut old = Phone::new("Alice's old Pixel");
        old.protocol_version = version;
        let (status, answer) = old.activate(&t, code, true).await;
        assert_eq!(status, 426, "{answer}");
        assert_eq!(answer["error"], "upgrade_required");
        assert_eq!(answer["error_description"], TOO_OLD_FOR_THE_DEVICE);
    }

    // Nothing was used up: the updated app activates with the same code.
    let mut updated = Phone::new("Alice's old Pixel");
    let (status, answer) = updated.activate(&t, code, true).await;
    assert_eq!(status, 201, "{answer}");
}

#[tokio::test]
async fn a_phone_whose_app_is_too_old_is_told_to_update_and_the_sign_in_says_so() {
    let t = start().await;
    let (_, mut phone) = alice_with_phone(&t).await;

    // The app is rolled back to a version that sends no protocol version: it sees no request.
    phone.protocol_version = None;
    let (status, answer) = phone.challenges(&t, 0).await;
    assert_eq!(status, 426, "{answer}");
    assert_eq!(answer["error"], "upgrade_required");
    assert_eq!(answer["error_description"], TOO_OLD_FOR_THE_DEVICE);

    // Her password is right, but no phone of hers can show the number: no request is created.
    let pkce = pkce();
    let (status, body) = t.begin(ALICE.0, &pkce, &[("password", ALICE.1)]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "upgrade_required");
    assert_eq!(body["error_description"], TOO_OLD_FOR_THE_SIGN_IN);

    // She updates the app; its next fetch says so, and the push goes out again.
    phone.protocol_version = Some(authcore::device_protocol::PROTOCOL_VERSION);
    let (status, answer) = phone.challenges(&t, 0).await;
    assert_eq!(status, 200, "{answer}");
    let (_, _, next) = password_then_push(&t, ALICE).await;
    let challenge = phone.next_challenge(&t).await;
    assert_eq!(challenge["request_id"], next["request_id"]);
}

#[tokio::test]
async fn a_version_header_that_is_not_a_number_counts_as_the_oldest_app() {
    let t = start().await;
    let (_, mut phone) = alice_with_phone(&t).await;
    for garbage in [0, 1] {
        phone.protocol_version = Some(garbage);
        let (status, answer) = phone.challenges(&t, 0).await;
        assert_eq!(
            (status, &answer["error"]),
            (426, &json!("upgrade_required"))
        );
    }
    // A newer app than this server knows is served as the current one.
    phone.protocol_version = Some(99);
    let (status, answer) = phone.challenges(&t, 0).await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn the_phone_replaces_and_clears_its_push_token_with_a_signed_request() {
    let t = start().await;
    let (tokens, phone) = alice_with_phone(&t).await;
    assert_eq!(push_enabled(&t, &tokens.access).await, false);

    let (status, answer) = push_token(&t, &phone, json!("fcm-token-1")).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({ "device_id": phone.device_id, "push_enabled": true })
    );
    assert_eq!(push_enabled(&t, &tokens.access).await, true);

    for cleared in [json!(null), json!("")] {
        let (status, answer) = push_token(&t, &phone, cleared).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["push_enabled"], false);
        assert_eq!(push_enabled(&t, &tokens.access).await, false);
    }

    let (status, answer) = push_token(&t, &phone, json!("x".repeat(4097))).await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"], "invalid_request");
    assert_eq!(
        answer["error_description"],
        "push_token must be at most 4096 characters"
    );

    let (status, answer) = push_token(&t, &phone, json!(42)).await;
    assert_eq!(status, 400);
    assert_eq!(
        answer["error_description"],
        "a field is missing or has the wrong type (line 1, column 16)"
    );
}

#[tokio::test]
async fn only_the_device_itself_can_change_its_push_token() {
    let t = start().await;
    let (tokens, phone) = alice_with_phone(&t).await;

    // Signed with another key under this device's id.
    let mut forged = phone.request(
        &t,
        "POST",
        "/v1/devices/push-token",
        Some(json!({ "push_token": "attacker" })),
    );
    forged.key = "other".into();
    let (status, answer) = phone.send(&t, &forged).await;
    assert_eq!(status, 401);
    assert_eq!(answer["error"], "invalid_signature");

    // Replayed: the first copy counts, the second is refused.
    let r = phone.request(
        &t,
        "POST",
        "/v1/devices/push-token",
        Some(json!({ "push_token": "fcm-token-2" })),
    );
    assert_eq!(phone.send(&t, &r).await.0, 200);
    let (status, answer) = phone.send(&t, &r).await;
    assert_eq!(status, 401);
    assert_eq!(answer["error"], "replayed_request");
    assert_eq!(push_enabled(&t, &tokens.access).await, true);
}

#[tokio::test]
async fn push_token_updates_sent_at_once_all_land() {
    let t = start().await;
    let (tokens, phone) = alice_with_phone(&t).await;
    let updates = (0..16).map(|i| {
        let t = &t;
        let phone = &phone;
        async move { push_token(t, phone, json!(format!("fcm-token-{i}"))).await }
    });
    for (status, answer) in futures_join(updates.collect()).await {
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["push_enabled"], true);
    }
    assert_eq!(push_enabled(&t, &tokens.access).await, true);
}
