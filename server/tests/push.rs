//! Number-matching push at sign-in, told as the screens show it: the sign-in screen shows a
//! number, the phone (core's software P-256 keys) enters it and signs its answer.

mod common;
mod phone;

use authcore::device_protocol::Decision;
use common::*;
use phone::*;
use serde_json::json;

#[tokio::test]
async fn alice_enters_the_number_on_her_phone_and_is_signed_in() {
    let t = start().await;
    let (_, phone) = alice_with_phone(&t).await;

    // Password, then "Approve the sign-in on your phone: 22".
    let (session, pkce, next) = password_then_push(&t, ALICE).await;
    let number = next["number"].as_str().unwrap().to_owned();
    assert_eq!(number.len(), 2);
    assert!(next["expires_at"].as_u64().unwrap() >= t.now() + 119);
    assert_eq!(next["interval"], 2);

    // The phone wakes with the request: context, no number.
    let challenge = phone.next_challenge(&t).await;
    assert_eq!(challenge["request_id"], next["request_id"]);
    assert_eq!(challenge["kind"], "sign_in");
    assert_eq!(challenge["mode"], "enter");
    assert_eq!(challenge["number_length"], 2);
    assert_eq!(challenge["choices"], json!(null));
    assert_eq!(challenge["context"]["app"], "Authcore Demo");
    assert_eq!(challenge["context"]["ip"], "127.0.0.1");
    assert_eq!(challenge["context"]["user_agent"], "authcore-tests/1");
    assert!(
        challenge.get("number").is_none(),
        "the phone is not told the number"
    );

    // The sign-in long-polls while Alice types 22 on the phone.
    let waiting = {
        let session = session.clone();
        let base = t.base.clone();
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let response = http
                .post(format!("{base}/v1/authorize-challenge"))
                .form(&[
                    ("client_id", CLIENT),
                    ("auth_session", &session),
                    ("wait", "10"),
                ])
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.json::<serde_json::Value>().await.unwrap(),
            )
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let (status, answer) = phone
        .approve(&t, challenge["request_id"].as_str().unwrap(), &number)
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result"], "approved");
    let (status, done) = waiting.await.unwrap();
    assert_eq!(status, 200, "{done}");
    let tokens = t
        .exchange(done["authorization_code"].as_str().unwrap(), &pkce)
        .await;

    let (_, history) = t.get("/v1/me/sign-ins", Some(&tokens.access)).await;
    assert_eq!(
        history["sign_ins"][0]["factors"],
        json!(["password", "push"])
    );
    assert_eq!(history["sign_ins"][0]["result"], "success");
}

#[tokio::test]
async fn a_wrong_number_denies_the_sign_in_with_number_mismatch() {
    let t = start().await;
    let (tokens, phone) = alice_with_phone(&t).await;
    let (session, _, next) = password_then_push(&t, ALICE).await;
    let wrong = if next["number"] == "11" { "12" } else { "11" };
    let challenge = phone.next_challenge(&t).await;
    let (status, answer) = phone
        .approve(&t, challenge["request_id"].as_str().unwrap(), wrong)
        .await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"], "number_mismatch");
    let (status, body) = t.step(&session, &[]).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "number_mismatch");
    assert_eq!(body["auth_session"], session.as_str());
    // The request is answered: the right number afterwards changes nothing.
    let (status, again) = phone
        .approve(
            &t,
            challenge["request_id"].as_str().unwrap(),
            next["number"].as_str().unwrap(),
        )
        .await;
    assert_eq!(status, 409, "{again}");
    assert_eq!(again["error"], "already_answered");
    let (_, history) = t.get("/v1/me/sign-ins", Some(&tokens.access)).await;
    assert_eq!(history["sign_ins"][0]["result"], "number_mismatch");
}

#[tokio::test]
async fn deny_on_the_phone_answers_access_denied() {
    let t = start().await;
    let (_, phone) = alice_with_phone(&t).await;
    let (session, _, _) = password_then_push(&t, ALICE).await;
    let challenge = phone.next_challenge(&t).await;
    let (status, answer) = phone
        .deny(&t, challenge["request_id"].as_str().unwrap())
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result"], "denied");
    let (status, body) = t.step(&session, &[("wait", "5")]).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "access_denied");
    assert_eq!(body["reason"], "denied");
    // Asking for another push is possible.
    let (status, body) = t.step(&session, &[("method", "push")]).await;
    assert_eq!(status, 400);
    assert_eq!(body["next"]["type"], "push");
}

#[tokio::test]
async fn report_fraud_blocks_pushes_for_an_hour_and_is_in_the_history() {
    let t = start().await;
    let (tokens, phone) = alice_with_phone(&t).await;
    let (session, _, _) = password_then_push(&t, ALICE).await;
    let challenge = phone.next_challenge(&t).await;
    let (status, answer) = phone
        .report_fraud(&t, challenge["request_id"].as_str().unwrap())
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result"], "fraud_reported");
    assert_eq!(answer["pushes_blocked_until"], t.now() + 3600);
    let (_, body) = t.step(&session, &[]).await;
    assert_eq!(body["error"], "access_denied");
    assert_eq!(body["reason"], "fraud_reported");

    // The attacker tries again: no push reaches Alice.
    let pkce = pkce();
    let (status, body) = t.begin(ALICE.0, &pkce, &[("password", ALICE.1)]).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "push_blocked");
    assert_eq!(body["retry_after"], 3600);
    let (status, pending) = phone.challenges(&t, 0).await;
    assert_eq!(status, 200);
    assert_eq!(pending["challenges"], json!([]));

    let (_, history) = t.get("/v1/me/sign-ins", Some(&tokens.access)).await;
    assert_eq!(history["sign_ins"][0]["result"], "fraud_reported");
    assert_eq!(history["sign_ins"][0]["method"], "push");

    // An hour later pushes work again.
    t.server.clock().advance(3601);
    password_then_push(&t, ALICE).await;
}

#[tokio::test]
async fn an_expired_request_cannot_be_approved_and_the_sign_in_says_expired() {
    let t = start().await;
    let (_, phone) = alice_with_phone(&t).await;
    let (session, _, next) = password_then_push(&t, ALICE).await;
    let challenge = phone.next_challenge(&t).await;
    t.server.clock().advance(121);
    let (status, body) = t.step(&session, &[]).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "expired");
    let (status, answer) = phone
        .approve(
            &t,
            challenge["request_id"].as_str().unwrap(),
            next["number"].as_str().unwrap(),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"], "expired");
    let (_, pending) = phone.challenges(&t, 0).await;
    assert_eq!(pending["challenges"], json!([]));
    // A new push for the same sign-in.
    let (status, body) = t.step(&session, &[("method", "push")]).await;
    assert_eq!(status, 400);
    assert_eq!(body["next"]["type"], "push");
    assert_ne!(body["next"]["request_id"], next["request_id"]);
}

#[tokio::test]
async fn a_replayed_signed_answer_is_refused() {
    let t = start().await;
    let (_, phone) = alice_with_phone(&t).await;
    let (_, _, next) = password_then_push(&t, ALICE).await;
    let challenge = phone.next_challenge(&t).await;
    let signed = phone.decision(
        &t,
        challenge["request_id"].as_str().unwrap(),
        Decision::Approve,
        next["number"].as_str().unwrap(),
    );
    let (status, _) = phone.send(&t, &signed).await;
    assert_eq!(status, 200);
    let (status, body) = phone.send(&t, &signed).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "replayed_request");
}

#[tokio::test]
async fn copies_of_one_signed_request_sent_at_once_are_accepted_once() {
    // Nonces are written in groups: copies in flight together still count once (the store's
    // own test puts copies in one batch).
    let t = start().await;
    let (_, phone) = alice_with_phone(&t).await;
    let signed = phone.request(&t, "GET", "/v1/devices/challenges", None);
    let others: Vec<_> = (0..6)
        .map(|_| phone.request(&t, "GET", "/v1/devices/challenges", None))
        .collect();
    let mut sends = Vec::new();
    for _ in 0..12 {
        sends.push(phone.send(&t, &signed));
    }
    for other in &others {
        sends.push(phone.send(&t, other));
    }
    let answers = futures_join(sends).await;
    let (copies, fresh) = answers.split_at(12);
    assert_eq!(
        copies.iter().filter(|(status, _)| *status == 200).count(),
        1
    );
    for (status, body) in copies.iter().filter(|(status, _)| *status != 200) {
        assert_eq!(*status, 401, "{body}");
        assert_eq!(body["error"], "replayed_request");
    }
    assert!(fresh.iter().all(|(status, _)| *status == 200), "{fresh:?}");
}

#[tokio::test]
async fn an_answer_signed_by_another_key_or_device_is_refused() {
    let t = start().await;
    let (_, phone) = alice_with_phone(&t).await;
    let bob = sign_in_bob(&t).await;
    let mut bobs = Phone::new("Bob's phone");
    enroll(&t, &bob.access, &mut bobs, true).await;

    let (_, _, next) = password_then_push(&t, ALICE).await;
    let challenge = phone.next_challenge(&t).await;
    let id = challenge["request_id"].as_str().unwrap();
    let number = next["number"].as_str().unwrap();

    // Alice's device id, signed with a key that is not the registered one.
    let mut forged = phone.decision(&t, id, Decision::Approve, number);
    forged.key = "other".into();
    let (status, body) = phone.send(&t, &forged).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_signature");

    // Bob's registered phone tries to answer Alice's request.
    let (status, body) = bobs.approve(&t, id, number).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"], "unknown_request");

    // A device id nobody registered.
    let mut stranger = Phone::new("stranger");
    stranger.device_id = "dv_nobody".into();
    let (status, body) = stranger.approve(&t, id, number).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "unknown_device");
}

#[tokio::test]
async fn two_concurrent_sign_ins_are_each_matched_to_their_own_number() {
    let t = start().await;
    let (_, phone) = alice_with_phone(&t).await;
    let (first, pkce1, next1) = password_then_push(&t, ALICE).await;
    let (second, pkce2, next2) = password_then_push(&t, ALICE).await;
    assert_ne!(
        next1["number"], next2["number"],
        "pending numbers of one user differ"
    );
    let (_, pending) = phone.challenges(&t, 0).await;
    let ids: Vec<&str> = pending["challenges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["request_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            next1["request_id"].as_str().unwrap(),
            next2["request_id"].as_str().unwrap()
        ]
    );
    // The second number answered on the first request is a mismatch; each on its own matches.
    let (status, _) = phone
        .approve(&t, ids[1], next2["number"].as_str().unwrap())
        .await;
    assert_eq!(status, 200);
    let (status, _) = phone
        .approve(&t, ids[0], next1["number"].as_str().unwrap())
        .await;
    assert_eq!(status, 200);
    for (session, pkce) in [(first, pkce1), (second, pkce2)] {
        let (status, body) = t.step(&session, &[]).await;
        assert_eq!(status, 200, "{body}");
        t.exchange(body["authorization_code"].as_str().unwrap(), &pkce)
            .await;
    }
}

#[tokio::test]
async fn a_removed_device_cannot_approve() {
    let t = start().await;
    let (tokens, phone) = alice_with_phone(&t).await;
    // Removing a factor needs a fresh sign-in with a second factor: the phone itself.
    let strong = sign_in_with_phone(&t, ALICE, &phone).await;
    let (_, _, next) = password_then_push(&t, ALICE).await;
    let challenge = phone.next_challenge(&t).await;
    let (status, body) = delete(
        &t,
        &format!("/v1/me/devices/{}", phone.device_id),
        &strong.access,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"removed": true}));
    let (status, body) = phone
        .approve(
            &t,
            challenge["request_id"].as_str().unwrap(),
            next["number"].as_str().unwrap(),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "unknown_device");
    let (_, devices) = t.get("/v1/me/devices", Some(&tokens.access)).await;
    assert_eq!(devices["devices"], json!([]));
}

#[tokio::test]
async fn a_timestamp_more_than_five_minutes_off_is_refused() {
    let t = start().await;
    let (_, phone) = alice_with_phone(&t).await;
    for skew in [-301i64, 301] {
        let mut r = phone.request(&t, "GET", "/v1/devices/challenges", None);
        r.timestamp = t.now().saturating_add_signed(skew);
        let (status, body) = phone.send(&t, &r).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"], "stale_request");
        assert_eq!(body["server_time"], t.now());
    }
    let mut r = phone.request(&t, "GET", "/v1/devices/challenges", None);
    r.timestamp = t.now() - 299;
    let (status, _) = phone.send(&t, &r).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn more_than_five_unanswered_pushes_in_ten_minutes_slow_down() {
    let t = start().await;
    let (_, _phone) = alice_with_phone(&t).await;
    let (session, _, _) = password_then_push(&t, ALICE).await;
    for _ in 0..4 {
        t.server.clock().advance(10);
        let (status, body) = t.step(&session, &[("method", "push")]).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["next"]["type"], "push");
    }
    t.server.clock().advance(10);
    let (status, body) = t.step(&session, &[("method", "push")]).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"], "slow_down");
    assert_eq!(body["retry_after"], 600 - 50);
}

#[tokio::test]
async fn passwordless_phone_sign_in_where_the_organisation_allows_it() {
    // Software keys have no attestation: trust user_verification as declared.
    let t = start_with(software_keys_config(), "sqlite::memory:", true).await;
    // Dave (Globex) sets up his phone with user verification from a signed-in session.
    let dave = sign_in_dave(&t).await;
    let mut phone = Phone::new("Dave's iPhone");
    enroll(&t, &dave.access, &mut phone, true).await;

    let methods = t.methods(DAVE.0).await;
    assert_eq!(
        methods["methods"].as_array().unwrap().last().unwrap(),
        &json!({"type": "push"})
    );
    let pkce = pkce();
    let (status, body) = t
        .begin(
            DAVE.0,
            &pkce,
            &[
                ("method", "push"),
                ("device_token", dave.device.as_deref().unwrap()),
            ],
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
    let (status, done) = t.step(&session, &[("wait", "5")]).await;
    assert_eq!(status, 200, "{done}");
    let tokens = t
        .exchange(done["authorization_code"].as_str().unwrap(), &pkce)
        .await;
    let (_, history) = t.get("/v1/me/sign-ins", Some(&tokens.access)).await;
    assert_eq!(history["sign_ins"][0]["factors"], json!(["push"]));
    assert_eq!(history["sign_ins"][0]["method"], "push");
}

#[tokio::test]
async fn passwordless_phone_sign_in_is_refused_by_policy_and_without_user_verification() {
    let t = start().await;
    // Acme does not allow it.
    let (_, phone) = alice_with_phone(&t).await;
    let pkce1 = pkce();
    let (status, body) = t.begin(ALICE.0, &pkce1, &[("method", "push")]).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(
        body["error_description"],
        "`push` (phone sign-in) is not offered for this account's organisation"
    );
    let (_, pending) = phone.challenges(&t, 0).await;
    assert_eq!(pending["challenges"], json!([]));

    // Globex allows it, but Dave's phone was registered without user verification: the screen
    // looks the same, no phone is asked, and the request runs out.
    let dave = sign_in_dave(&t).await;
    let mut no_uv = Phone::new("Dave's old phone");
    enroll(&t, &dave.access, &mut no_uv, false).await;
    let pkce2 = pkce();
    let (status, body) = t.begin(DAVE.0, &pkce2, &[("method", "push")]).await;
    assert_eq!(status, 400);
    assert_eq!(body["next"]["type"], "push");
    let (_, pending) = no_uv.challenges(&t, 0).await;
    assert_eq!(pending["challenges"], json!([]));
    t.server.clock().advance(121);
    let (_, body) = t.step(&session_of(&body), &[]).await;
    assert_eq!(body["error"], "expired");
}

#[tokio::test]
async fn choose_mode_gives_the_phone_three_numbers() {
    let mut config = test_config();
    config.push.number_mode = authcore_server::config::NumberMode::Choose;
    config.push.number_length = 3;
    let t = start_with(config, "sqlite::memory:", true).await;
    let (_, phone) = alice_with_phone(&t).await;
    let (session, _, next) = password_then_push(&t, ALICE).await;
    let number = next["number"].as_str().unwrap();
    assert_eq!(number.len(), 3);
    let challenge = phone.next_challenge(&t).await;
    assert_eq!(challenge["mode"], "choose");
    let choices: Vec<&str> = challenge["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(choices.len(), 3);
    assert!(choices.contains(&number));
    phone
        .approve(&t, challenge["request_id"].as_str().unwrap(), number)
        .await;
    let (status, _) = t.step(&session, &[]).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_device_long_poll_wakes_as_soon_as_a_push_is_created() {
    let t = start().await;
    let (_, phone) = alice_with_phone(&t).await;
    let started = std::time::Instant::now();
    let (pending, _) = tokio::join!(phone.challenges(&t, 20), async {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        password_then_push(&t, ALICE).await
    });
    assert_eq!(pending.0, 200);
    assert_eq!(pending.1["challenges"].as_array().unwrap().len(), 1);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test]
async fn the_webhook_sender_posts_only_the_device_and_request_ids() {
    use axum::http::HeaderMap;
    let (tx, mut rx) =
        tokio::sync::mpsc::unbounded_channel::<(Option<String>, serde_json::Value)>();
    let hook = axum::Router::new().route(
        "/wake",
        axum::routing::post(
            move |headers: HeaderMap, axum::Json(body): axum::Json<serde_json::Value>| {
                let tx = tx.clone();
                async move {
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let _ = tx.send((auth, body));
                    "ok"
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, hook).await });

    let mut config = test_config();
    config.push_sender = authcore_server::config::PushSenderConfig::Webhook {
        url: format!("http://{addr}/wake"),
        bearer_token: Some(authcore_server::secrets::SecretString::new(
            "hook-token".into(),
        )),
    };
    let t = start_with(config, "sqlite::memory:", true).await;
    let (_, phone) = alice_with_phone(&t).await;
    let wait = std::time::Duration::from_secs(5);
    // The test approval woke the new phone.
    let (auth, test) = tokio::time::timeout(wait, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(auth.as_deref(), Some("Bearer hook-token"));
    assert_eq!(test["device_id"], phone.device_id.as_str());
    // A sign-in push wakes it too: two fields, no number, no secret.
    let (_, _, next) = password_then_push(&t, ALICE).await;
    let (_, wake) = tokio::time::timeout(wait, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        wake,
        json!({"device_id": phone.device_id, "request_id": next["request_id"]})
    );
}

#[tokio::test]
async fn malformed_device_requests_get_clear_errors_never_a_500() {
    let t = start().await;
    let (_, phone) = alice_with_phone(&t).await;
    let url = format!("{}/v1/devices/challenges", t.base);
    // No headers at all.
    let response = t.http.get(&url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(
        body["error_description"],
        "the Authcore-Device-Id header is required"
    );
    // A signature that is not base64url, a nonce too short, a timestamp that is not a number.
    for (name, value, message) in [
        (
            "authcore-signature",
            "not base64!",
            "the Authcore-Signature header must be base64url",
        ),
        (
            "authcore-nonce",
            "short",
            "the Authcore-Nonce header must be 16 to 64 characters of A-Z a-z 0-9 - _",
        ),
        (
            "authcore-timestamp",
            "soon",
            "the Authcore-Timestamp header must be unix seconds",
        ),
    ] {
        let mut headers = vec![
            ("authcore-device-id", phone.device_id.clone()),
            ("authcore-timestamp", t.now().to_string()),
            ("authcore-nonce", authcore::device_protocol::new_nonce()),
            ("authcore-signature", "AAAA".to_owned()),
        ];
        headers.retain(|(n, _)| *n != name);
        headers.push((name, value.to_owned()));
        let mut request = t.http.get(&url);
        for (n, v) in headers {
            request = request.header(n, v);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 400);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error_description"], message);
    }
    // A decision for a request id that is not a number, and a body that is not JSON.
    let (status, body) = phone.approve(&t, "abc", "22").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"], "unknown_request");
    let mut r = phone.request(&t, "POST", "/v1/devices/challenges/1", None);
    r.body = b"{not json".to_vec();
    let (status, body) = phone.send(&t, &r).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_request");
    // Approving without a number.
    let mut r = phone.request(
        &t,
        "POST",
        "/v1/devices/challenges/1",
        Some(json!({"decision": "approve", "signature": "AAAA"})),
    );
    r.timestamp = t.now();
    let (status, body) = phone.send(&t, &r).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error_description"],
        "approving needs the number shown on the sign-in screen"
    );
}
