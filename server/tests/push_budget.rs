//! The push spammer: anyone who knows an email address can start phone sign-ins (passwordless
//! push) for it. Those get their own budget per identifier (`push.max_passwordless_outstanding`,
//! 5 per `push.window_s`), counted the same whether the account exists, and they never block
//! the user's own push after a correct password.

mod common;
mod phone;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::*;
use phone::*;
use serde_json::Value;

/// Dave (Globex, passwordless push allowed) with a phone enrolled with user verification; his
/// device token (so his own sign-in skips the email check).
async fn dave_with_phone(t: &TestServer) -> (Phone, String) {
    let dave = sign_in_dave(t).await;
    let mut phone = Phone::new("Dave's iPhone");
    enroll(t, &dave.access, &mut phone, true).await;
    (phone, dave.device.expect("a device token"))
}

/// A phone sign-in started for `identifier`, as anyone can.
async fn phone_sign_in(t: &TestServer, identifier: &str) -> (u16, Value) {
    let p = pkce();
    t.begin(identifier, &p, &[("method", "push")]).await
}

/// Dave's own sign-in: password, then a push approved on his phone.
async fn dave_signs_in_with_password_and_push(t: &TestServer, phone: &Phone, device_token: &str) {
    let p = pkce();
    let (status, body) = t
        .begin(
            DAVE.0,
            &p,
            &[("password", DAVE.1), ("device_token", device_token)],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["next"]["type"], "push", "{body}");
    let (status, answer) = phone
        .approve(
            t,
            body["next"]["request_id"].as_str().unwrap(),
            body["next"]["number"].as_str().unwrap(),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let (status, done) = t.step(&session_of(&body), &[("wait", "5")]).await;
    assert_eq!(status, 200, "{done}");
    t.exchange(done["authorization_code"].as_str().unwrap(), &p)
        .await;
}

fn keys(body: &Value) -> BTreeSet<String> {
    body.as_object().unwrap().keys().cloned().collect()
}

#[tokio::test]
async fn five_phone_sign_ins_by_a_stranger_leave_daves_password_and_push_working() {
    let t = start().await;
    let (phone, device_token) = dave_with_phone(&t).await;
    for _ in 0..5 {
        let (status, body) = phone_sign_in(&t, DAVE.0).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["next"]["type"], "push", "{body}");
    }
    let (status, body) = phone_sign_in(&t, DAVE.0).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("slow_down")),
        "{body}"
    );
    // Dave's own sign-in is not held up, now or while the stranger keeps trying.
    dave_signs_in_with_password_and_push(&t, &phone, &device_token).await;
    t.server.clock().advance(300);
    let (status, _) = phone_sign_in(&t, DAVE.0).await;
    assert_eq!(status, 429);
    dave_signs_in_with_password_and_push(&t, &phone, &device_token).await;
}

#[tokio::test]
async fn the_sixth_phone_sign_in_answers_alike_for_dave_and_an_unknown_globex_address() {
    let t = start().await;
    let (_phone, _) = dave_with_phone(&t).await;
    let ghost = "ghost@globex.example";
    for identifier in [DAVE.0, ghost] {
        for _ in 0..5 {
            let (status, body) = phone_sign_in(&t, identifier).await;
            assert_eq!(status, 400, "{identifier}: {body}");
            assert_eq!(body["next"]["type"], "push", "{identifier}: {body}");
        }
    }
    let (known_status, known) = phone_sign_in(&t, DAVE.0).await;
    let (unknown_status, unknown) = phone_sign_in(&t, ghost).await;
    assert_eq!(
        (known_status, known["error"].as_str()),
        (429, Some("slow_down"))
    );
    assert_eq!(
        (unknown_status, unknown["error"].as_str()),
        (429, Some("slow_down"))
    );
    assert_eq!(keys(&known), keys(&unknown));
    assert_eq!(known["error_description"], unknown["error_description"]);
    // The same limit is named for both: nothing tells a known address from an unknown one.
    let limit = serde_json::json!({"of": "phone_sign_ins", "count": 5, "window_s": 600});
    assert_eq!((&known["limit"], &unknown["limit"]), (&limit, &limit));
    let (a, b) = (
        known["retry_after"].as_u64().unwrap(),
        unknown["retry_after"].as_u64().unwrap(),
    );
    assert!((1..=600).contains(&a) && (1..=600).contains(&b), "{a} {b}");
    assert!(a.abs_diff(b) <= 1, "{a} {b}");
    // The window passes for both alike.
    t.server.clock().advance(601);
    for identifier in [DAVE.0, ghost] {
        let (status, body) = phone_sign_in(&t, identifier).await;
        assert_eq!(
            body["next"]["type"], "push",
            "{identifier}: {status} {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_phone_sign_ins_at_once_get_five_pushes_for_known_and_unknown_alike() {
    let t = Arc::new(start().await);
    let (phone, device_token) = dave_with_phone(&t).await;
    for identifier in [DAVE.0, "ghost@globex.example"] {
        let tasks: Vec<_> = (0..30)
            .map(|_| {
                let t = t.clone();
                tokio::spawn(async move { phone_sign_in(&t, identifier).await })
            })
            .collect();
        let mut pushes = 0;
        let mut slowed = 0;
        for task in tasks {
            let (status, body) = task.await.unwrap();
            match (status, body["error"].as_str()) {
                (400, Some("insufficient_authorization")) => {
                    assert_eq!(body["next"]["type"], "push");
                    pushes += 1;
                }
                (429, Some("slow_down")) => slowed += 1,
                other => panic!("{identifier}: unexpected {other:?} {body}"),
            }
        }
        assert_eq!((pushes, slowed), (5, 25), "{identifier}");
    }
    // Dave's phone was asked at most five times, and his own sign-in still works.
    let (_, pending) = phone.challenges(&t, 0).await;
    assert!(
        pending["challenges"].as_array().unwrap().len() <= 5,
        "{pending}"
    );
    dave_signs_in_with_password_and_push(&t, &phone, &device_token).await;
}
