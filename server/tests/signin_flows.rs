//! Every method and policy of demo.toml over HTTP, told as the user would see it.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn discovery_names_every_endpoint() {
    let t = start().await;
    let (status, body) = t.get("/.well-known/openid-configuration", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["issuer"], t.base.as_str());
    for key in [
        "token_endpoint",
        "revocation_endpoint",
        "userinfo_endpoint",
        "login_methods_endpoint",
        "authorization_challenge_endpoint",
        "authenticator_enrollment_endpoint",
        "devices_endpoint",
        "device_activation_endpoint",
        "device_challenges_endpoint",
    ] {
        assert!(body[key].as_str().unwrap().starts_with(&t.base), "{key}");
    }
    assert_eq!(body["code_challenge_methods_supported"], json!(["S256"]));
}

#[tokio::test]
async fn openapi_describes_every_route() {
    let t = start().await;
    let (status, body) = t.get("/openapi.json", None).await;
    assert_eq!(status, 200);
    for path in [
        "/.well-known/openid-configuration",
        "/v1/login/methods",
        "/v1/authorize-challenge",
        "/v1/token",
        "/v1/revoke",
        "/v1/logout",
        "/v1/logout-all",
        "/v1/userinfo",
        "/v1/me/sign-ins",
        "/v1/me/totp",
        "/v1/me/totp/confirm",
        "/v1/me/backup-codes",
        "/v1/password/forgot",
        "/v1/password/reset",
        "/v1/me/authenticators",
        "/v1/me/authenticators/{id}",
        "/v1/me/devices",
        "/v1/me/devices/{id}",
        "/v1/devices/activate",
        "/v1/devices/challenges",
        "/v1/devices/challenges/{id}",
    ] {
        assert!(body["paths"][path].is_object(), "{path} missing");
    }
}

#[tokio::test]
async fn user_types_acme_email_and_sees_password_and_email_code() {
    let t = start().await;
    let body = t.methods("Alice@Acme.example").await;
    assert_eq!(
        body["methods"],
        json!([{"type": "password"}, {"type": "email_code", "destination_hint": "a***@acme.example"}])
    );
    assert_eq!(body["organization"]["name"], "Acme");
    assert_eq!(body["sign_in_host"], json!(null));
}

#[tokio::test]
async fn user_types_globex_email_and_sees_password_sso_and_the_sign_in_host() {
    let t = start_with(demo_config(), "sqlite::memory:", true).await;
    let body = t.methods("carol@globex.example").await;
    assert_eq!(
        body["methods"],
        json!([{"type": "password"}, {"type": "sso", "provider": "globex-okta", "display_name": "Globex SSO"}, {"type": "push"}])
    );
    assert_eq!(body["sign_in_host"], "login.globex.example");
}

#[tokio::test]
async fn unknown_identifiers_get_the_same_shape_as_known_ones() {
    let t = start().await;
    let known = t.methods("alice@acme.example").await;
    let unknown = t.methods("nobody@acme.example").await;
    assert_eq!(known["methods"][0], unknown["methods"][0]);
    assert_eq!(
        known.as_object().unwrap().keys().collect::<Vec<_>>(),
        unknown.as_object().unwrap().keys().collect::<Vec<_>>()
    );
    let elsewhere = t.methods("someone@example.org").await;
    assert_eq!(elsewhere["methods"][2]["type"], "federated");
    assert_eq!(elsewhere["organization"], json!(null));
}

#[tokio::test]
async fn phone_number_offers_an_sms_code_with_a_masked_number() {
    let t = start().await;
    let body = t.methods("+1 555 555 0101").await;
    assert_eq!(
        body["methods"],
        json!([{"type": "sms_code", "destination_hint": "+*******0101"}])
    );
}

#[tokio::test]
async fn alice_signs_in_with_her_password() {
    let t = start().await;
    let pkce = pkce();
    // Types her email, sees "enter password".
    let (status, body) = t.begin(ALICE.0, &pkce, &[]).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "insufficient_authorization");
    assert_eq!(body["next"], json!({"type": "password"}));
    let session = session_of(&body);
    // Types the password: signed in.
    let (status, body) = t.step(&session, &[("password", ALICE.1)]).await;
    assert_eq!(status, 200, "{body}");
    let tokens = t
        .exchange(body["authorization_code"].as_str().unwrap(), &pkce)
        .await;
    assert!(tokens.device.is_some(), "a new device gets a device token");
    let (status, me) = t.get("/v1/userinfo", Some(&tokens.access)).await;
    assert_eq!(status, 200);
    assert_eq!(me["email"], ALICE.0);
    assert_eq!(me["name"], "Alice Acme");
}

#[tokio::test]
async fn alice_signs_in_with_an_email_code_instead_of_a_password() {
    let t = start().await;
    let pkce = pkce();
    let (status, body) = t.begin(ALICE.0, &pkce, &[("method", "email_code")]).await;
    assert_eq!(status, 400);
    assert_eq!(body["next"]["type"], "email_code");
    assert_eq!(body["next"]["destination_hint"], "a***@acme.example");
    assert_eq!(body["next"]["length"], 6);
    assert_eq!(body["next"]["expires_at"], t.now() + 600);
    assert_eq!(body["next"]["resend_after"], 30);
    let code = t.last_code(ALICE.0).await;
    let (status, body) = t.step(&session_of(&body), &[("code", &code)]).await;
    assert_eq!(status, 200, "{body}");
    let tokens = t
        .exchange(body["authorization_code"].as_str().unwrap(), &pkce)
        .await;
    let (_, history) = t.get("/v1/me/sign-ins", Some(&tokens.access)).await;
    assert_eq!(history["sign_ins"][0]["method"], "email_code");
    assert_eq!(history["sign_ins"][0]["result"], "success");
}

#[tokio::test]
async fn alice_signs_in_with_an_sms_code_sent_to_her_phone() {
    let t = start().await;
    let pkce = pkce();
    let (status, body) = t.begin("+15555550101", &pkce, &[]).await;
    assert_eq!(status, 400);
    assert_eq!(body["next"]["type"], "sms_code");
    assert_eq!(body["next"]["channel"], "sms");
    assert_eq!(body["next"]["destination_hint"], "+*******0101");
    let message = t.last_message("+15555550101").await;
    assert_eq!(message["channel"], "sms");
    let code = code_in(message["body"].as_str().unwrap());
    let (status, body) = t.step(&session_of(&body), &[("code", &code)]).await;
    assert_eq!(status, 200, "{body}");
    let tokens = t
        .exchange(body["authorization_code"].as_str().unwrap(), &pkce)
        .await;
    let (_, me) = t.get("/v1/userinfo", Some(&tokens.access)).await;
    assert_eq!(me["email"], ALICE.0);
}

#[tokio::test]
async fn resending_a_code_waits_for_resend_after_and_only_the_newest_code_works() {
    let t = start().await;
    let pkce = pkce();
    let (_, body) = t.begin(ALICE.0, &pkce, &[("method", "email_code")]).await;
    let session = session_of(&body);
    let first = t.last_code(ALICE.0).await;
    let (status, body) = t.step(&session, &[("method", "email_code")]).await;
    assert_eq!(status, 429);
    assert_eq!(body["error"], "slow_down");
    assert_eq!(body["retry_after"], 30);
    t.server.clock().advance(30);
    let (status, body) = t.step(&session, &[("method", "email_code")]).await;
    assert_eq!(status, 400);
    assert_eq!(body["next"]["type"], "email_code");
    let second = t.last_code(ALICE.0).await;
    if first != second {
        let (status, body) = t.step(&session, &[("code", &first)]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("wrong_credential"))
        );
    }
    let (status, _) = t.step(&session, &[("code", &second)]).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn asking_again_without_a_code_repeats_the_prompt_and_sends_nothing() {
    let t = start().await;
    let pkce = pkce();
    let (_, body) = t.begin(ALICE.0, &pkce, &[("method", "email_code")]).await;
    let session = session_of(&body);
    let (_, outbox) = t.get("/dev/outbox", None).await;
    let before = outbox["messages"].as_array().unwrap().len();
    let (status, again) = t.step(&session, &[]).await;
    assert_eq!(status, 400);
    assert_eq!(again["next"]["type"], "email_code");
    let (_, outbox) = t.get("/dev/outbox", None).await;
    assert_eq!(outbox["messages"].as_array().unwrap().len(), before);
}

#[tokio::test]
async fn carol_on_a_new_device_verifies_by_email_then_totp_and_is_recognised_next_time() {
    let t = start().await;
    let pkce1 = pkce();
    // New device: password, then "confirm it's you" by email code, then TOTP.
    let (status, body) = t.begin(CAROL.0, &pkce1, &[("password", CAROL.1)]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["next"]["type"], "verify_device");
    assert_eq!(body["next"]["destination_hint"], "c***@globex.example");
    let session = session_of(&body);
    let code = t.last_code(CAROL.0).await;
    let (status, body) = t.step(&session, &[("code", &code)]).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["next"],
        json!({"type": "choose_second_factor", "factors": ["totp", "backup_code"]})
    );
    let (status, body) = t.step(&session, &[("method", "totp")]).await;
    assert_eq!(status, 400);
    assert_eq!(body["next"], json!({"type": "totp", "length": 6}));
    let totp = totp_now(CAROL_TOTP, t.now());
    let (status, body) = t.step(&session, &[("code", &totp)]).await;
    // Globex requires an authenticator app: "Skip for now (3 left)".
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["next"],
        json!({"type": "enroll_authenticator", "skips_left": 3, "mandatory": false})
    );
    let (status, body) = t.step(&session, &[("method", "skip_enrollment")]).await;
    assert_eq!(status, 200, "{body}");
    let tokens = t
        .exchange(body["authorization_code"].as_str().unwrap(), &pkce1)
        .await;
    let device = tokens.device.clone().expect("device token issued");

    // Same device next time: no email verification, straight to the second factor.
    t.server.clock().advance(30);
    let pkce2 = pkce();
    let (status, body) = t
        .begin(
            CAROL.0,
            &pkce2,
            &[("password", CAROL.1), ("device_token", &device)],
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["next"]["type"], "choose_second_factor");
    let totp = totp_now(CAROL_TOTP, t.now());
    let session = session_of(&body);
    let (status, body) = t
        .step(&session, &[("method", "totp"), ("code", &totp)])
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["next"]["skips_left"], 2);
    let (status, body) = t.step(&session, &[("method", "skip_enrollment")]).await;
    assert_eq!(status, 200, "{body}");
    let second = t
        .exchange(body["authorization_code"].as_str().unwrap(), &pkce2)
        .await;
    assert!(
        second.device.is_none(),
        "a recognised device keeps its token"
    );

    // The history shows both sign-ins and the identity verification.
    let (_, history) = t.get("/v1/me/sign-ins", Some(&second.access)).await;
    let entries = history["sign_ins"].as_array().unwrap();
    assert_eq!(entries[0]["factors"], json!(["password", "totp"]));
    assert_eq!(
        entries[1]["factors"],
        json!(["password", "email_verification", "totp"])
    );
    assert_eq!(entries[2]["kind"], "identity_verification");
    assert_eq!(entries[0]["user_agent"], "authcore-tests/1");
    assert_eq!(entries[0]["ip"], "127.0.0.1");
}

#[tokio::test]
async fn dave_with_no_second_factor_enrolled_proves_his_email_where_mfa_is_required() {
    let t = start().await;
    let pkce = pkce();
    let (_, body) = t.begin(DAVE.0, &pkce, &[("password", DAVE.1)]).await;
    assert_eq!(body["next"]["type"], "verify_device");
    let code = t.last_code(DAVE.0).await;
    let session = session_of(&body);
    let (status, body) = t.step(&session, &[("code", &code)]).await;
    assert_eq!(body["next"]["type"], "enroll_authenticator", "{body}");
    let (status2, body) = t.step(&session, &[("method", "skip_enrollment")]).await;
    assert_eq!((status, status2), (400, 200), "{body}");
}

#[tokio::test]
async fn bob_uses_totp_and_the_same_code_is_refused_the_second_time() {
    let t = start().await;
    let pkce1 = pkce();
    let (status, body) = t.begin(BOB.0, &pkce1, &[("password", BOB.1)]).await;
    assert_eq!(status, 400);
    assert_eq!(body["next"]["type"], "choose_second_factor");
    let code = totp_now(BOB_TOTP, t.now());
    let (status, body) = t
        .step(&session_of(&body), &[("method", "totp"), ("code", &code)])
        .await;
    assert_eq!(status, 200, "{body}");

    // Someone replays the code in the same 30 s step: refused.
    let pkce2 = pkce();
    let (_, body) = t.begin(BOB.0, &pkce2, &[("password", BOB.1)]).await;
    let (status, body) = t
        .step(&session_of(&body), &[("method", "totp"), ("code", &code)])
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "wrong_credential");
    assert_eq!(body["reason"], "replayed");
}

#[tokio::test]
async fn totp_one_step_of_drift_is_accepted_two_are_not() {
    let t = start().await;
    let pkce = pkce();
    let (_, body) = t.begin(BOB.0, &pkce, &[("password", BOB.1)]).await;
    let session = session_of(&body);
    let far = totp_now(BOB_TOTP, t.now() + 60);
    let (status, body) = t
        .step(&session, &[("method", "totp"), ("code", &far)])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("wrong_credential"))
    );
    assert_eq!(body["attempts_left"], 9);
    let near = totp_now(BOB_TOTP, t.now() + 30);
    let (status, body) = t.step(&session, &[("code", &near)]).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn bob_uses_a_backup_code_once() {
    let t = start().await;
    let pkce1 = pkce();
    let (_, body) = t.begin(BOB.0, &pkce1, &[("password", BOB.1)]).await;
    let session = session_of(&body);
    let (status, body) = t.step(&session, &[("method", "backup_code")]).await;
    assert_eq!(status, 400);
    assert_eq!(body["next"], json!({"type": "backup_code", "remaining": 2}));
    let (status, body) = t.step(&session, &[("code", "BOB0 0001")]).await;
    assert_eq!(status, 200, "{body}");

    let pkce2 = pkce();
    let (_, body) = t.begin(BOB.0, &pkce2, &[("password", BOB.1)]).await;
    let (status, body) = t
        .step(
            &session_of(&body),
            &[("method", "backup_code"), ("code", "bob0-0001")],
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "wrong_credential");
}

#[tokio::test]
async fn refresh_rotates_and_reusing_an_old_refresh_token_revokes_the_family() {
    let t = start().await;
    let first = t.sign_in_password(ALICE).await;
    let refresh = |token: String| t.refresh(token);
    let (status, body) = refresh(first.refresh.clone()).await;
    assert_eq!(status, 200, "{body}");
    let second = tokens_of(&body);
    assert_ne!(second.refresh, first.refresh);
    assert_eq!(second.session_id, first.session_id);
    // The old access token ended with the rotation; the new one works.
    assert_eq!(t.get("/v1/userinfo", Some(&first.access)).await.0, 401);
    assert_eq!(t.get("/v1/userinfo", Some(&second.access)).await.0, 200);

    // The first refresh token comes back (stolen?): everything of this sign-in is revoked.
    let (status, body) = refresh(first.refresh.clone()).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("revoked"));
    assert_eq!(t.get("/v1/userinfo", Some(&second.access)).await.0, 401);
    let (status, body) = refresh(second.refresh.clone()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn logout_ends_this_session_and_logout_all_ends_every_session() {
    let t = start().await;
    let phone = t.sign_in_password(ALICE).await;
    let tablet = t.sign_in_password(ALICE).await;
    let laptop = t.sign_in_password(ALICE).await;
    let (status, body) = t.post_bearer("/v1/logout", &phone.access).await;
    assert_eq!((status, body["revoked_sessions"].as_u64()), (200, Some(1)));
    assert_eq!(t.get("/v1/userinfo", Some(&phone.access)).await.0, 401);
    assert_eq!(t.get("/v1/userinfo", Some(&tablet.access)).await.0, 200);

    let (status, body) = t.post_bearer("/v1/logout-all", &tablet.access).await;
    assert_eq!((status, body["revoked_sessions"].as_u64()), (200, Some(2)));
    assert_eq!(t.get("/v1/userinfo", Some(&tablet.access)).await.0, 401);
    assert_eq!(t.get("/v1/userinfo", Some(&laptop.access)).await.0, 401);
    let (status, _) = t
        .post_form(
            "/v1/token",
            &[
                ("grant_type", "refresh_token"),
                ("client_id", CLIENT),
                ("refresh_token", &laptop.refresh),
            ],
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn revoke_ends_the_session_of_a_refresh_token_and_answers_200_for_unknown_tokens() {
    let t = start().await;
    let tokens = t.sign_in_password(ALICE).await;
    let (status, _) = t
        .post_form(
            "/v1/revoke",
            &[("client_id", CLIENT), ("token", &tokens.refresh)],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(t.get("/v1/userinfo", Some(&tokens.access)).await.0, 401);
    let (status, _) = t
        .post_form(
            "/v1/revoke",
            &[("client_id", CLIENT), ("token", "rt_nothing")],
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn password_reset_by_email_code_revokes_every_session() {
    let t = start().await;
    let before = t.sign_in_password(ALICE).await;
    let (status, body) = t
        .post_json("/v1/password/forgot", json!({"identifier": ALICE.0}), None)
        .await;
    assert_eq!(status, 202);
    assert_eq!(body["status"], "sent_if_account_exists");
    let message = t.last_message(ALICE.0).await;
    assert_eq!(message["subject"], "Reset your password");
    let code = code_in(message["body"].as_str().unwrap());
    let (status, body) = t
        .post_json(
            "/v1/password/reset",
            json!({"identifier": ALICE.0, "code": code, "new_password": "a brand new passphrase"}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(t.get("/v1/userinfo", Some(&before.access)).await.0, 401);
    // The code was single use.
    let (status, body) = t
        .post_json(
            "/v1/password/reset",
            json!({"identifier": ALICE.0, "code": code, "new_password": "another passphrase"}),
            None,
        )
        .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("expired")));
    // Old password refused, new one works.
    let pkce = pkce();
    let (status, body) = t.begin(ALICE.0, &pkce, &[("password", ALICE.1)]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("wrong_credential"))
    );
    t.sign_in_password((ALICE.0, "a brand new passphrase"))
        .await;
}

#[tokio::test]
async fn forgot_password_answers_the_same_for_unknown_accounts_and_sends_nothing() {
    let t = start().await;
    let (status, body) = t
        .post_json(
            "/v1/password/forgot",
            json!({"identifier": "nobody@acme.example"}),
            None,
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(body["status"], "sent_if_account_exists");
    assert_eq!(body["destination_hint"], "n***@acme.example");
    let (_, outbox) = t.get("/dev/outbox?to=nobody@acme.example", None).await;
    assert_eq!(outbox["messages"], json!([]));
}

#[tokio::test]
async fn alice_enrolls_totp_and_then_needs_it_to_sign_in() {
    let t = start().await;
    let tokens = t.sign_in_mfa(ALICE, None).await;
    let (status, body) = t.post_bearer("/v1/me/totp", &tokens.access).await;
    assert_eq!(status, 200, "{body}");
    let uri = body["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    let parsed = authcore::otp::uri::parse(uri).unwrap();
    assert_eq!(parsed.account.account, ALICE.0);
    let secret = body["secret"].as_str().unwrap().to_owned();
    let (status, body) = t
        .post_json(
            "/v1/me/totp/confirm",
            json!({"code": "000000"}),
            Some(&tokens.access),
        )
        .await;
    if totp_now(&secret, t.now()) != "000000" {
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("wrong_credential"))
        );
    }
    let (status, body) = t
        .post_json(
            "/v1/me/totp/confirm",
            json!({"code": totp_now(&secret, t.now())}),
            Some(&tokens.access),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    t.server.clock().advance(30);
    let pkce = pkce();
    let (status, body) = t.begin(ALICE.0, &pkce, &[("password", ALICE.1)]).await;
    assert_eq!(status, 400);
    assert_eq!(body["next"], json!({"type": "totp", "length": 6}));
    let (status, _) = t
        .step(&session_of(&body), &[("code", &totp_now(&secret, t.now()))])
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn new_backup_codes_replace_the_old_ones() {
    let t = start().await;
    let pkce1 = pkce();
    let (_, body) = t.begin(BOB.0, &pkce1, &[("password", BOB.1)]).await;
    let code = totp_now(BOB_TOTP, t.now());
    let (_, body) = t
        .step(&session_of(&body), &[("method", "totp"), ("code", &code)])
        .await;
    let tokens = t
        .exchange(body["authorization_code"].as_str().unwrap(), &pkce1)
        .await;
    let (status, body) = t.post_bearer("/v1/me/backup-codes", &tokens.access).await;
    assert_eq!(status, 200);
    let codes: Vec<String> = body["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);

    let pkce2 = pkce();
    let (_, body) = t.begin(BOB.0, &pkce2, &[("password", BOB.1)]).await;
    let session = session_of(&body);
    let (status, body) = t
        .step(
            &session,
            &[("method", "backup_code"), ("code", "bob0-0002")],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("wrong_credential"))
    );
    let (status, body) = t.step(&session, &[("code", &codes[3])]).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn federated_and_sso_methods_hand_over_to_the_browser() {
    let t = start().await;
    let pkce = pkce();
    let (status, body) = t.begin(CAROL.0, &pkce, &[("method", "sso")]).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "redirect_to_web");
    assert_eq!(body["provider"], "globex-okta");
    let (status, body) = t
        .begin("someone@example.org", &pkce, &[("method", "federated")])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("redirect_to_web"))
    );
}
