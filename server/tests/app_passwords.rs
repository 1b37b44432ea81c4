//! App passwords: Bob (TOTP) creates one for his mail app from a stepped-up session, sees it
//! once, and the mail bridge signs in with it at `POST /v1/token` `grant_type=password`; each
//! refusal (the account password, a revoked app password, a client not allowed, a user without
//! a second factor, no step-up) answers its exact error; parallel wrong guesses share the
//! lockout; "log out everywhere" revokes them when asked.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::*;
use serde_json::{json, Value};

const BRIDGE: &str = "acme-mail-bridge";

impl TestServer {
    async fn app_password_grant(&self, client: &str, user: &str, password: &str) -> (u16, Value) {
        self.post_form(
            "/v1/token",
            &[
                ("grant_type", "password"),
                ("client_id", client),
                ("username", user),
                ("password", password),
            ],
        )
        .await
    }

    async fn create_app_password(&self, access: &str, name: &str) -> (u16, Value) {
        self.post_json(
            "/v1/me/app-passwords",
            json!({ "name": name }),
            Some(access),
        )
        .await
    }
}

async fn bob_stepped_up(t: &TestServer) -> Tokens {
    t.sign_in_mfa(BOB, Some(BOB_TOTP)).await
}

#[tokio::test]
async fn bob_creates_an_app_password_sees_it_once_and_his_mail_app_signs_in_with_it() {
    let logs = CapturedLogs::install();
    let t = start().await;
    let bob = bob_stepped_up(&t).await;
    let (status, created) = t.create_app_password(&bob.access, "Thunderbird").await;
    assert_eq!(status, 201, "{created}");
    let password = created["password"].as_str().unwrap().to_owned();
    let groups: Vec<&str> = password.split(' ').collect();
    assert_eq!(groups.len(), 4, "{password}");
    assert!(groups
        .iter()
        .all(|g| g.len() == 4 && g.chars().all(|c| c.is_ascii_lowercase())));
    assert_eq!(created["name"], "Thunderbird");
    assert_eq!(created["created_at"], t.now());
    let id = created["id"].as_str().unwrap().to_owned();

    // The mail app signs in with it (typed without spaces, in capitals: the same password).
    let (status, tokens) = t
        .app_password_grant(BRIDGE, BOB.0, &password.replace(' ', "").to_uppercase())
        .await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert!(tokens.get("device_token").is_none(), "{tokens}");
    let mail = tokens["access_token"].as_str().unwrap().to_owned();
    let (status, me) = t.get("/v1/userinfo", Some(&mail)).await;
    assert_eq!((status, me["email"].as_str()), (200, Some(BOB.0)));
    // An app password is no second factor: its session makes no security change.
    let (status, body) = t.post_bearer("/v1/me/backup-codes", &mail).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("insufficient_user_authentication"))
    );

    // Listed with when it was created and last used; never the password.
    let (status, list) = t.get("/v1/me/app-passwords", Some(&bob.access)).await;
    assert_eq!(status, 200);
    assert_eq!(
        list,
        json!({"app_passwords": [{"id": id, "name": "Thunderbird", "created_at": t.now(),
                                   "last_used_at": t.now()}]})
    );
    let (_, history) = t.get("/v1/me/sign-ins", Some(&bob.access)).await;
    let used = &history["sign_ins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["method"] == "app_password")
        .cloned()
        .expect("the use is in the history");
    assert_eq!(used["factors"], json!(["app_password"]));
    assert_eq!(used["result"], "success");
    let created_event = history["sign_ins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "app_password_created")
        .cloned()
        .expect("the creation is a security event");
    assert_eq!(created_event["detail"], "Thunderbird");
    let (_, events) = t.get("/v1/me/security-events", Some(&bob.access)).await;
    let mail_to_bob = t.last_message(BOB.0).await;
    assert_eq!(mail_to_bob["subject"], "An app password was created");

    // After the one answer that showed it, the password is nowhere: not in any later answer,
    // the notification mail, or the logs.
    let letters = password.replace(' ', "");
    for later in [&list, &history, &events, &tokens, &me, &mail_to_bob] {
        let text = later.to_string();
        assert!(
            !text.contains(&password) && !text.contains(&letters),
            "{text}"
        );
    }
    let text = logs.text();
    assert!(!text.contains(&password) && !text.contains(&letters));
}

#[tokio::test]
async fn the_account_password_is_refused_at_the_app_password_grant() {
    let t = start().await;
    let (status, body) = t.app_password_grant(BRIDGE, BOB.0, BOB.1).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body,
        json!({"error": "invalid_grant",
               "error_description": "the account password cannot be used here; create an app password for this app in your account's security settings"})
    );
    // A password that is neither: wrong, counted toward the lockout.
    let (status, body) = t
        .app_password_grant(BRIDGE, BOB.0, "abcd efgh ijkl mnop")
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "wrong_credential");
    assert_eq!(body["error_description"], "the app password is not correct");
    assert_eq!(body["attempts_left"], 8);
    let bob = bob_stepped_up(&t).await;
    let (_, history) = t.get("/v1/me/sign-ins", Some(&bob.access)).await;
    let results: Vec<&str> = history["sign_ins"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["method"] == "app_password")
        .map(|e| e["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["wrong_password", "account_password"]);
}

#[tokio::test]
async fn a_revoked_app_password_is_refused() {
    let t = start().await;
    let bob = bob_stepped_up(&t).await;
    let (_, created) = t.create_app_password(&bob.access, "Old phone mail").await;
    let password = created["password"].as_str().unwrap().to_owned();
    let path = format!("/v1/me/app-passwords/{}", created["id"].as_str().unwrap());
    let (status, body) = t.delete(&path, &bob.access).await;
    assert_eq!((status, body), (200, json!({"removed": true})));
    let (status, body) = t.app_password_grant(BRIDGE, BOB.0, &password).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body,
        json!({"error": "invalid_grant",
               "error_description": "this app password was revoked; create a new one in your account's security settings"})
    );
    let (_, list) = t.get("/v1/me/app-passwords", Some(&bob.access)).await;
    assert_eq!(list, json!({"app_passwords": []}));
    let (status, body) = t.delete(&path, &bob.access).await;
    assert_eq!(status, 404);
    assert_eq!(body["error_description"], "no such app password");
    let (_, events) = t.get("/v1/me/security-events", Some(&bob.access)).await;
    assert_eq!(events["events"][0]["kind"], "app_password_revoked");
    assert_eq!(events["events"][0]["detail"], "Old phone mail");
}

#[tokio::test]
async fn a_client_not_allowed_is_refused() {
    let t = start().await;
    let bob = bob_stepped_up(&t).await;
    let (_, created) = t.create_app_password(&bob.access, "Thunderbird").await;
    let password = created["password"].as_str().unwrap();
    let (status, body) = t.app_password_grant(CLIENT, BOB.0, password).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body,
        json!({"error": "unauthorized_client",
               "error_description": "this client may not use grant_type=password; sign in with an authorization code"})
    );
}

#[tokio::test]
async fn a_user_without_a_second_factor_cannot_create_one() {
    let t = start().await;
    // Alice has no second factor: her step-up is the password and an email code.
    let alice = t.sign_in_mfa(ALICE, None).await;
    let (status, body) = t.create_app_password(&alice.access, "Thunderbird").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body,
        json!({"error": "second_factor_required",
               "error_description": "app passwords are for accounts with a second factor; add an authenticator app, backup codes or a verified phone number first"})
    );
    let bob = bob_stepped_up(&t).await;
    for name in ["", "   ", &"x".repeat(65)] {
        let (status, body) = t.create_app_password(&bob.access, name).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            body["error_description"],
            "name must be 1 to 64 characters: the app the password is for"
        );
    }
}

#[tokio::test]
async fn every_change_needs_a_step_up() {
    let t = start().await;
    let bob = bob_stepped_up(&t).await;
    let (_, created) = t.create_app_password(&bob.access, "Thunderbird").await;
    let path = format!("/v1/me/app-passwords/{}", created["id"].as_str().unwrap());
    // Eleven minutes later the sign-in is no longer recent.
    t.server.clock().advance(601);
    let (_, fresh) = t.refresh(bob.refresh.clone()).await;
    let access = fresh["access_token"].as_str().unwrap().to_owned();
    let refusal = json!({"error": "insufficient_user_authentication",
        "error_description": "this change needs a sign-in with a second factor in the last 600 seconds; sign in again with acr_values=mfa",
        "max_age": 600, "acr_values": "mfa"});
    let (status, body) = t.create_app_password(&access, "Outlook").await;
    assert_eq!((status, &body), (401, &refusal));
    let (status, body) = t.delete(&path, &access).await;
    assert_eq!((status, &body), (401, &refusal));
    let (status, body) = t.post_bearer("/v1/me/security-token", &access).await;
    assert_eq!((status, &body), (401, &refusal));
    // Listing is no change.
    let (status, list) = t.get("/v1/me/app-passwords", Some(&access)).await;
    assert_eq!(status, 200);
    assert_eq!(list["app_passwords"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn log_out_everywhere_revokes_app_passwords_when_asked() {
    let t = start().await;
    let bob = bob_stepped_up(&t).await;
    let (_, created) = t.create_app_password(&bob.access, "Thunderbird").await;
    let password = created["password"].as_str().unwrap().to_owned();
    let (status, body) = t.post_bearer("/v1/logout-all", &bob.access).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["revoked_app_passwords"], 0);
    let (status, _) = t.app_password_grant(BRIDGE, BOB.0, &password).await;
    assert_eq!(status, 200, "kept by a plain logout-all");

    // The next TOTP step: a code is accepted once.
    t.server.clock().advance(30);
    let bob = bob_stepped_up(&t).await;
    let (status, body) = t
        .post_bearer("/v1/logout-all?app_passwords=revoke", &bob.access)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["revoked_app_passwords"], 1);
    let (status, body) = t.app_password_grant(BRIDGE, BOB.0, &password).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(
        body["error_description"],
        "this app password was revoked; create a new one in your account's security settings"
    );
    let (status, body) = t
        .post_bearer("/v1/logout-all?app_passwords=sometimes", &bob.access)
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_wrong_app_passwords_share_the_lockout() {
    let t = Arc::new(start().await);
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let t = t.clone();
            tokio::spawn(async move {
                let guess = format!(
                    "wxyz wxyz wxyz wx{}{}",
                    (b'a' + (i / 26) as u8) as char,
                    (b'a' + (i % 26) as u8) as char
                );
                t.app_password_grant(BRIDGE, BOB.0, &guess).await
            })
        })
        .collect();
    let mut tally: HashMap<String, usize> = HashMap::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        let error = body["error"].as_str().unwrap_or("none").to_owned();
        assert!(
            matches!(
                (status, error.as_str()),
                (400, "wrong_credential") | (403, "locked")
            ),
            "{status} {body}"
        );
        *tally.entry(error).or_default() += 1;
    }
    // Ten are checked; the one that fills the run and every later one answer `locked`.
    assert!(
        tally.get("wrong_credential").copied().unwrap_or(0) <= 9,
        "{tally:?}"
    );
    // The real app password, even: nothing is checked while locked.
    let (status, body) = t.app_password_grant(BRIDGE, BOB.0, BOB.1).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("locked")),
        "{body}"
    );
    t.server.clock().advance(900);
    let bob = bob_stepped_up(&t).await;
    let (_, history) = t.get("/v1/me/sign-ins", Some(&bob.access)).await;
    let wrong = history["sign_ins"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["method"] == "app_password" && e["result"] == "wrong_password")
        .count();
    assert_eq!(wrong, 10, "{history}");
}
