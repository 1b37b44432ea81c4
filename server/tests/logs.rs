//! The logs of a full run (every level, every target) carry none of the secrets it used.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn no_secret_reaches_the_logs() {
    let captured = CapturedLogs::install();

    let t = start().await;
    let mut secrets: Vec<String> = vec![
        ALICE.1.into(),
        BOB.1.into(),
        CAROL.1.into(),
        BOB_TOTP.into(),
        CAROL_TOTP.into(),
        "bob0-0001".into(),
        "wrong-password-123".into(),
    ];
    // Password, with a wrong try first.
    let p = pkce();
    let (_, body) = t
        .begin(ALICE.0, &p, &[("password", "wrong-password-123")])
        .await;
    secrets.push(session_of(&body));
    let tokens = t.sign_in_password(ALICE).await;
    secrets.extend([
        tokens.access.clone(),
        tokens.refresh.clone(),
        tokens.device.clone().unwrap(),
    ]);
    // Email code.
    let p = pkce();
    let (_, body) = t.begin(ALICE.0, &p, &[("method", "email_code")]).await;
    let code = t.last_code(ALICE.0).await;
    let (_, body) = t.step(&session_of(&body), &[("code", &code)]).await;
    let ac = body["authorization_code"].as_str().unwrap().to_owned();
    secrets.extend([code, ac.clone(), p.verifier.clone()]);
    let emailed = t.exchange(&ac, &p).await;
    // Refresh rotation and reuse.
    let (_, body) = t.refresh(emailed.refresh.clone()).await;
    secrets.extend([
        emailed.refresh.clone(),
        body["refresh_token"].as_str().unwrap().into(),
    ]);
    t.refresh(emailed.refresh.clone()).await;
    // TOTP + backup code (bob).
    let p = pkce();
    let (_, body) = t.begin(BOB.0, &p, &[("password", BOB.1)]).await;
    let totp = totp_now(BOB_TOTP, t.now());
    let (_, body) = t
        .step(&session_of(&body), &[("method", "totp"), ("code", &totp)])
        .await;
    let bob = t
        .exchange(body["authorization_code"].as_str().unwrap(), &p)
        .await;
    let (_, body) = t.post_bearer("/v1/me/backup-codes", &bob.access).await;
    for c in body["codes"].as_array().unwrap() {
        secrets.push(c.as_str().unwrap().into());
    }
    let (_, body) = t.post_bearer("/v1/me/totp", &bob.access).await;
    secrets.push(body["secret"].as_str().unwrap().into());
    // Password reset.
    t.post_json("/v1/password/forgot", json!({"identifier": ALICE.0}), None)
        .await;
    let reset = t.last_code(ALICE.0).await;
    t.post_json(
        "/v1/password/reset",
        json!({"identifier": ALICE.0, "code": reset, "new_password": "fresh secret passphrase"}),
        None,
    )
    .await;
    secrets.extend([reset, "fresh secret passphrase".into(), totp]);
    // A request whose id the logs must carry.
    let response = t
        .http
        .get(format!("{}/v1/userinfo", t.base))
        .bearer_auth(&bob.access)
        .send()
        .await
        .unwrap();
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    t.server.shutdown().await;

    let logs = captured.text();
    assert!(
        logs.contains("request"),
        "the run was logged at all:\n{logs}"
    );
    // Every line of a request carries its id (the span), and security events are at INFO.
    assert!(
        logs.contains(&format!("request_id={request_id}")),
        "the request id is in the logs:\n{logs}"
    );
    for event in [
        "sign_in_completed",
        "credential_refused",
        "backup_codes_regenerated",
        "totp_enrollment_started",
        "password_reset_requested",
        "password_reset",
    ] {
        assert!(
            logs.lines()
                .any(|l| l.contains(" INFO ") && l.contains("security event") && l.contains(event)),
            "security event {event} is logged at INFO"
        );
    }
    for secret in &secrets {
        assert!(!secret.is_empty());
        assert!(
            !logs.contains(secret.as_str()),
            "a secret appears in the logs"
        );
    }
}
