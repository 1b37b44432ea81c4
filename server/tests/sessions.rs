//! `GET /v1/me/sessions` and `DELETE /v1/me/sessions/{id}`: a user sees where they are signed in
//! and ends one session, whose tokens then stop working while the others keep theirs.

mod common;

use common::*;

#[tokio::test]
async fn a_user_lists_their_sessions_newest_first_with_the_current_one_marked() {
    let t = start().await;
    let laptop = t.sign_in_password(ALICE).await;
    let phone = t.sign_in_password(ALICE).await;
    let _bob = t.sign_in_mfa(BOB, Some(BOB_TOTP)).await;

    let (status, body) = t.get("/v1/me/sessions", Some(&laptop.access)).await;
    assert_eq!(status, 200, "{body}");
    let sessions = body["sessions"].as_array().unwrap();
    // only Alice's two, the newer first
    assert_eq!(sessions.len(), 2, "{body}");
    assert_eq!(sessions[0]["id"], phone.session_id.as_str());
    assert_eq!(sessions[1]["id"], laptop.session_id.as_str());
    assert_eq!(sessions[0]["current"], false);
    assert_eq!(sessions[1]["current"], true);
    let laptop_entry = &sessions[1];
    assert_eq!(laptop_entry["client_id"], CLIENT);
    assert_eq!(laptop_entry["client_name"], "Authcore Demo");
    assert_eq!(laptop_entry["method"], "password");
    assert_eq!(laptop_entry["factors"], serde_json::json!(["password"]));
    assert_eq!(laptop_entry["ip"], "127.0.0.1");
    assert_eq!(laptop_entry["user_agent"], "authcore-tests/1");
    let created = laptop_entry["created_at"].as_u64().unwrap();
    assert_eq!(
        laptop_entry["expires_at"].as_u64().unwrap(),
        created + 30 * 24 * 3600
    );
}

#[tokio::test]
async fn ending_one_session_stops_its_tokens_and_keeps_the_others() {
    let t = start().await;
    let laptop = t.sign_in_password(ALICE).await;
    let lost_phone = t.sign_in_password(ALICE).await;

    let path = format!("/v1/me/sessions/{}", lost_phone.session_id);
    let (status, body) = t.delete(&path, &laptop.access).await;
    assert_eq!(
        (status, body),
        (200, serde_json::json!({"revoked_sessions": 1}))
    );

    // the lost phone's access and refresh tokens stop working at once
    let (status, body) = t.get("/v1/me/sign-ins", Some(&lost_phone.access)).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_token");
    let (status, body) = t.refresh(lost_phone.refresh.clone()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    // the laptop keeps its session, and the list shows only it
    let (status, body) = t.get("/v1/me/sessions", Some(&laptop.access)).await;
    assert_eq!(status, 200, "{body}");
    let ids: Vec<&str> = body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [laptop.session_id.as_str()]);
    // ending it again: it is no longer active
    let (status, body) = t.delete(&path, &laptop.access).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"], "not_found");
    assert_eq!(
        body["error_description"],
        "no active session of yours has this id"
    );
}

#[tokio::test]
async fn another_users_session_or_a_bad_id_is_not_found_and_stays_signed_in() {
    let t = start().await;
    let alice = t.sign_in_password(ALICE).await;
    let other = t.sign_in_password(ALICE).await;
    for id in ["999999", "abc", "-1", &format!("{}0", other.session_id)] {
        let (status, body) = t
            .delete(&format!("/v1/me/sessions/{id}"), &alice.access)
            .await;
        assert_eq!(status, 404, "{id}: {body}");
        assert_eq!(
            body["error_description"], "no active session of yours has this id",
            "{id}"
        );
    }
    // no token: invalid_token, nothing ended
    let response = t
        .http
        .delete(format!("{}/v1/me/sessions/{}", t.base, other.session_id))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let (status, _) = t.get("/v1/me/sign-ins", Some(&other.access)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_session_of_another_user_cannot_be_ended() {
    let t = start().await;
    let alice = t.sign_in_password(ALICE).await;
    let bob = t.sign_in_mfa(BOB, Some(BOB_TOTP)).await;
    let (status, body) = t
        .delete(
            &format!("/v1/me/sessions/{}", bob.session_id),
            &alice.access,
        )
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = t.get("/v1/me/sign-ins", Some(&bob.access)).await;
    assert_eq!(status, 200, "Bob is still signed in");
}

#[tokio::test]
async fn ten_deletes_of_one_session_at_once_end_it_once() {
    let t = start().await;
    let laptop = t.sign_in_password(ALICE).await;
    let phone = t.sign_in_password(ALICE).await;
    let path = format!("/v1/me/sessions/{}", phone.session_id);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (http, url, bearer) = (
            t.http.clone(),
            format!("{}{path}", t.base),
            laptop.access.clone(),
        );
        tasks.spawn(async move {
            let response = http.delete(url).bearer_auth(bearer).send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        });
    }
    let answers = tasks.join_all().await;
    let ok = answers.iter().filter(|(s, _)| *s == 200).count();
    let gone = answers.iter().filter(|(s, _)| *s == 404).count();
    assert_eq!((ok, gone), (1, 9), "{answers:?}");
}

#[tokio::test]
async fn a_session_past_its_lifetime_is_not_listed() {
    let t = start().await;
    let old = t.sign_in_password(ALICE).await;
    t.server.clock().advance(20 * 24 * 3600);
    let new = t.sign_in_password(ALICE).await;
    t.server.clock().advance(11 * 24 * 3600);
    // the first one is 31 days old: past the 30-day session lifetime, so it is over; the second
    // one's access token expired too (15 minutes), its refresh token gives a new one
    let (status, body) = t.refresh(new.refresh.clone()).await;
    assert_eq!(status, 200, "{body}");
    let access = body["access_token"].as_str().unwrap().to_owned();
    let (status, body) = t.get("/v1/me/sessions", Some(&access)).await;
    assert_eq!(status, 200, "{body}");
    let ids: Vec<&str> = body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [new.session_id.as_str()], "{body}");
    let (status, _) = t.refresh(old.refresh.clone()).await;
    assert_eq!(status, 400, "the old session cannot be refreshed either");
}
