//! The logs of an enrollment and a push sign-in (every level) carry no activation code, token,
//! signature or auth session.

mod common;
mod phone;

use common::*;
use phone::*;

#[tokio::test]
async fn enrollment_and_push_leave_no_secret_in_the_logs() {
    let captured = CapturedLogs::install();

    let t = start().await;
    let alice = t.sign_in_mfa(ALICE, None).await;
    let (_, enrollment) = t.post_bearer("/v1/me/authenticators", &alice.access).await;
    let code = enrollment["activation_code"].as_str().unwrap().to_owned();
    let mut phone = Phone::new("Alice's Pixel");
    // A wrong code first, then the right one.
    phone.activate(&t, "AAAA-BBBB-CCCC", true).await;
    phone.activate(&t, &code, true).await;
    let id = enrollment["enrollment_id"].as_str().unwrap();
    let (_, shown) = t
        .get(&format!("/v1/me/authenticators/{id}"), Some(&alice.access))
        .await;
    let test = phone.next_challenge(&t).await;
    let signed = phone.decision(
        &t,
        test["request_id"].as_str().unwrap(),
        authcore::device_protocol::Decision::Approve,
        shown["test"]["number"].as_str().unwrap(),
    );
    phone.send(&t, &signed).await;
    phone.send(&t, &signed).await; // replayed: refused, and logged without its content
    let (session, _, _) = password_then_push(&t, ALICE).await;

    let logs = captured.text();
    assert!(
        logs.contains("/v1/devices/challenges"),
        "requests are logged"
    );
    let body: serde_json::Value = serde_json::from_slice(&signed.body).unwrap();
    for secret in [
        code.clone(),
        code.replace('-', ""),
        signed.nonce.clone(),
        body["signature"].as_str().unwrap().to_owned(),
        alice.access.clone(),
        session,
        ALICE.1.to_owned(),
    ] {
        assert!(!logs.contains(&secret), "a secret reached the logs");
    }
}
