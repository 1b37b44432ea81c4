//! API security tokens ("Reset My Security Token"): Bob resets his from a stepped-up session, the
//! new token arrives by email only, an API client signs in with his password and the token
//! appended (or the token in the `Authcore-Security-Token` header), and the old token stops
//! working. Resets and uses are in the history.

mod common;

use common::*;
use serde_json::{json, Value};

const BRIDGE: &str = "acme-mail-bridge";

impl TestServer {
    async fn password_grant(&self, password: &str, header: Option<&str>) -> (u16, Value) {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("grant_type", "password"),
                ("client_id", BRIDGE),
                ("username", BOB.0),
                ("password", password),
            ])
            .finish();
        let mut request = self
            .http
            .post(format!("{}/v1/token", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(token) = header {
            request = request.header("Authcore-Security-Token", token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Resets Bob's token and reads the new one from his mail.
    async fn reset_token(&self, access: &str) -> String {
        let (status, body) = self.post_bearer("/v1/me/security-token", access).await;
        assert_eq!(status, 202, "{body}");
        assert_eq!(body, json!({"destination_hint": "b***@acme.example"}));
        let mail = self.last_message(BOB.0).await;
        assert_eq!(mail["subject"], "Your new security token");
        let text = mail["body"].as_str().unwrap();
        let at = text
            .find("security token is ")
            .expect("the mail carries the token")
            + "security token is ".len();
        let token = text[at..at + 24].to_owned();
        assert!(token.chars().all(|c| c.is_ascii_alphanumeric()), "{token}");
        assert!(!body.to_string().contains(&token));
        token
    }
}

#[tokio::test]
async fn an_api_client_signs_in_with_the_password_and_the_emailed_token() {
    let logs = CapturedLogs::install();
    let t = start().await;
    let bob = t.sign_in_mfa(BOB, Some(BOB_TOTP)).await;
    let token = t.reset_token(&bob.access).await;

    // Appended to the password.
    let (status, tokens) = t.password_grant(&format!("{}{token}", BOB.1), None).await;
    assert_eq!(status, 200, "{tokens}");
    let (status, me) = t
        .get(
            "/v1/userinfo",
            Some(tokens["access_token"].as_str().unwrap()),
        )
        .await;
    assert_eq!((status, me["email"].as_str()), (200, Some(BOB.0)));
    // Or alone in the header, beside the password.
    let (status, body) = t.password_grant(BOB.1, Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    // A security-token session is no stepped-up one.
    let (status, body) = t
        .post_bearer(
            "/v1/me/backup-codes",
            tokens["access_token"].as_str().unwrap(),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("insufficient_user_authentication"))
    );

    let (_, history) = t.get("/v1/me/sign-ins", Some(&bob.access)).await;
    let entries = history["sign_ins"].as_array().unwrap();
    let uses: Vec<&Value> = entries
        .iter()
        .filter(|e| e["method"] == "security_token")
        .collect();
    assert_eq!(uses.len(), 2, "{history}");
    assert!(
        uses.iter()
            .all(|e| e["factors"] == json!(["password", "security_token"])
                && e["result"] == "success")
    );
    let reset = entries
        .iter()
        .find(|e| e["event"] == "security_token_reset")
        .expect("the reset is a security event");
    assert_eq!(reset["detail"], "new API security token (emailed)");
    assert!(!history.to_string().contains(&token));
    assert!(!logs.text().contains(&token), "the token reached the logs");
}

#[tokio::test]
async fn an_old_security_token_stops_working_after_a_reset() {
    let t = start().await;
    let bob = t.sign_in_mfa(BOB, Some(BOB_TOTP)).await;
    let old = t.reset_token(&bob.access).await;
    let new = t.reset_token(&bob.access).await;
    assert_ne!(old, new);
    let refusal = json!({"error": "invalid_grant",
        "error_description": "this security token was replaced by a reset; use the newest one from your email"});
    let (status, body) = t.password_grant(&format!("{}{old}", BOB.1), None).await;
    assert_eq!((status, &body), (400, &refusal));
    let (status, body) = t.password_grant(BOB.1, Some(&old)).await;
    assert_eq!((status, &body), (400, &refusal));
    let (status, body) = t.password_grant(&format!("{}{new}", BOB.1), None).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_wrong_password_or_token_counts_toward_the_lockout() {
    let t = start().await;
    let bob = t.sign_in_mfa(BOB, Some(BOB_TOTP)).await;
    let token = t.reset_token(&bob.access).await;
    let (status, body) = t
        .password_grant(&format!("not-bobs-password{token}"), None)
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body,
        json!({"error": "wrong_credential",
               "error_description": "the password or security token is not correct",
               "attempts_left": 9})
    );
    let (status, body) = t
        .password_grant(BOB.1, Some("AAAAAAAAAAAAAAAAAAAAAAAA"))
        .await;
    assert_eq!((status, body["attempts_left"].as_u64()), (400, Some(8)));
    // The account password alone is no API credential.
    let (status, body) = t.password_grant(BOB.1, None).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error_description"],
        "the account password cannot be used here; create an app password for this app in your account's security settings"
    );
}

#[tokio::test]
async fn a_client_not_allowed_cannot_send_a_security_token() {
    let t = start().await;
    let (status, body) = t
        .post_form(
            "/v1/token",
            &[
                ("grant_type", "password"),
                ("client_id", CLIENT),
                ("username", BOB.0),
                ("password", BOB.1),
            ],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "unauthorized_client");
    assert_eq!(
        body["error_description"],
        "this client may not use grant_type=password; sign in with an authorization code"
    );
}
