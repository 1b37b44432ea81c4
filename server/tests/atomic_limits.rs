//! Failure limits under parallel requests, as an attacker sends them: every attempt is counted
//! before its credential is checked, so N requests at once get no more checks than the limit
//! (10 per account, 100 per address, 5 per code), and the right answer after the limit is
//! refused without being checked. "Checked" is read from the sign-in history in the database
//! (one `wrong_password` / `wrong_code` entry per credential evaluated).

mod common;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use authcore_server::store::sqlite::SqliteStore;
use authcore_server::store::Store;
use common::*;
use serde_json::{json, Value};

/// A server on a file database (so the test can read the history beside it).
async fn start_on_file(name: &str, config: authcore_server::Config) -> (Arc<TestServer>, String) {
    let dir = temp_path(name);
    let db = format!("sqlite://{}", dir.join("authcore.db").display());
    (Arc::new(start_with(config, &db, true).await), db)
}

/// Sends `n` requests at once (each on its own task) and returns their answers.
async fn all_at_once<F, Fut>(t: &Arc<TestServer>, n: usize, request: F) -> Vec<(u16, Value)>
where
    F: Fn(Arc<TestServer>, usize) -> Fut,
    Fut: Future<Output = (u16, Value)> + Send + 'static,
{
    let tasks: Vec<_> = (0..n)
        .map(|i| tokio::spawn(request(t.clone(), i)))
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("request task"));
    }
    answers
}

/// How many answers had each `(status, error)`.
fn tally(answers: &[(u16, Value)]) -> HashMap<(u16, String), usize> {
    let mut counts = HashMap::new();
    for (status, body) in answers {
        let error = body["error"].as_str().unwrap_or("none").to_owned();
        *counts.entry((*status, error)).or_default() += 1;
    }
    counts
}

fn count(tally: &HashMap<(u16, String), usize>, status: u16, error: &str) -> usize {
    tally.get(&(status, error.to_owned())).copied().unwrap_or(0)
}

/// History entries of `email` with `result`, read from the database.
async fn history_count(db: &str, email: &str, result: &str) -> usize {
    let store = SqliteStore::open(db).await.expect("the database opens");
    let user = store.user_by_email(email).await.unwrap().expect("user");
    let events = store.sign_in_events(user.id, 10_000).await.unwrap();
    store.close().await;
    events.iter().filter(|e| e.result == result).count()
}

/// A six-digit code that is not the TOTP code of any step near now.
fn wrong_totp(secret: &str, now: u64) -> String {
    let near: Vec<String> = (0..=8)
        .map(|i| totp_now(secret, (now + 120).saturating_sub(i * 30)))
        .collect();
    (0..)
        .map(|n: u32| format!("{:06}", 123_456 + n))
        .find(|c| !near.contains(c))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_and_fifty_wrong_passwords_at_once_are_checked_ten_times_then_the_right_one_is_locked(
) {
    let (t, db) = start_on_file("atomic-passwords", test_config()).await;
    let answers = all_at_once(&t, 150, |t, _| async move {
        let p = pkce();
        t.begin(ALICE.0, &p, &[("password", "not-alices-password")])
            .await
    })
    .await;
    let tally = tally(&answers);
    eprintln!("answers: {tally:?}");
    // Ten are checked (the history has one entry per check); the others wait for those to
    // settle and are then refused unchecked: `locked`, or `slow_down` while the address's 100
    // slots were all reserved at once. An answer counts the attempts still in flight, so the
    // first wrong one to finish may already say `locked`.
    assert_eq!(history_count(&db, ALICE.0, "wrong_password").await, 10);
    assert!(count(&tally, 400, "wrong_credential") <= 9, "{tally:?}");
    assert_eq!(
        count(&tally, 400, "wrong_credential")
            + count(&tally, 403, "locked")
            + count(&tally, 429, "slow_down"),
        150,
        "{tally:?}"
    );

    // The right password now is refused without being checked.
    let p = pkce();
    let (status, body) = t.begin(ALICE.0, &p, &[("password", ALICE.1)]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("locked")),
        "{body}"
    );
    assert!(body["retry_after"].as_u64().unwrap() <= 900);
    assert_eq!(history_count(&db, ALICE.0, "wrong_password").await, 10);
    assert_eq!(history_count(&db, ALICE.0, "success").await, 0);

    // Once the lock runs out the right password works, and the address kept only the ten
    // attempts that were checked (it is far from its limit of 100).
    t.server.clock().advance(900);
    let (status, body) = t.begin(ALICE.0, &p, &[("password", ALICE.1)]).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_wrong_totp_codes_at_once_are_checked_ten_times_then_the_right_one_is_locked() {
    let (t, db) = start_on_file("atomic-totp", test_config()).await;
    let p = pkce();
    let (_, body) = t.begin(BOB.0, &p, &[("password", BOB.1)]).await;
    let session = session_of(&body);
    let wrong = wrong_totp(BOB_TOTP, t.now());
    let answers = {
        let session = session.clone();
        all_at_once(&t, 40, move |t, _| {
            let session = session.clone();
            let wrong = wrong.clone();
            async move {
                t.step(&session, &[("method", "totp"), ("code", &wrong)])
                    .await
            }
        })
        .await
    };
    let tally = tally(&answers);
    eprintln!("answers: {tally:?}");
    assert_eq!(history_count(&db, BOB.0, "wrong_code").await, 10);
    assert!(count(&tally, 400, "wrong_credential") <= 9, "{tally:?}");
    assert_eq!(
        count(&tally, 400, "wrong_credential") + count(&tally, 403, "locked"),
        40,
        "{tally:?}"
    );

    let code = totp_now(BOB_TOTP, t.now());
    let (status, body) = t
        .step(&session, &[("method", "totp"), ("code", &code)])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("locked")),
        "{body}"
    );
    assert_eq!(history_count(&db, BOB.0, "wrong_code").await, 10);
    // The backup code is the same account's second factor: locked too.
    let (status, body) = t
        .step(
            &session,
            &[("method", "backup_code"), ("code", "bob0-0001")],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("locked")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_wrong_backup_codes_at_once_are_checked_ten_times_then_the_right_one_is_locked() {
    let (t, db) = start_on_file("atomic-backup", test_config()).await;
    let p = pkce();
    let (_, body) = t.begin(BOB.0, &p, &[("password", BOB.1)]).await;
    let session = session_of(&body);
    let answers = {
        let session = session.clone();
        all_at_once(&t, 40, move |t, i| {
            let session = session.clone();
            async move {
                let guess = format!("zz{:02}-{:04}", i % 100, i);
                t.step(&session, &[("method", "backup_code"), ("code", &guess)])
                    .await
            }
        })
        .await
    };
    let tally = tally(&answers);
    eprintln!("answers: {tally:?}");
    assert_eq!(history_count(&db, BOB.0, "wrong_code").await, 10);
    assert!(count(&tally, 400, "wrong_credential") <= 9, "{tally:?}");
    assert_eq!(
        count(&tally, 400, "wrong_credential") + count(&tally, 403, "locked"),
        40,
        "{tally:?}"
    );
    let (status, body) = t
        .step(
            &session,
            &[("method", "backup_code"), ("code", "bob0-0001")],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("locked")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_for_many_accounts_from_one_address_are_checked_a_hundred_times() {
    let (t, _db) = start_on_file("atomic-per-ip", test_config()).await;
    let answers = all_at_once(&t, 150, |t, i| async move {
        let p = pkce();
        let identifier = match i {
            0 => ALICE.0.to_owned(),
            1 => BOB.0.to_owned(),
            2 => CAROL.0.to_owned(),
            3 => DAVE.0.to_owned(),
            _ => format!("user{i}@spray.example"),
        };
        t.begin(&identifier, &p, &[("password", "Password1!")])
            .await
    })
    .await;
    let tally = tally(&answers);
    eprintln!("answers: {tally:?}");
    // One attempt per account: no account lockout binds, the address's limit of 100 does.
    assert_eq!(count(&tally, 400, "wrong_credential"), 100, "{tally:?}");
    assert_eq!(count(&tally, 429, "slow_down"), 50, "{tally:?}");
    for (status, body) in &answers {
        if *status == 429 {
            let retry_after = body["retry_after"].as_u64().unwrap();
            assert!((1..=600).contains(&retry_after), "{body}");
        }
    }
    // Even the right password waits now.
    let p = pkce();
    let (status, body) = t.begin(ALICE.0, &p, &[("password", ALICE.1)]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("slow_down")),
        "{body}"
    );
    assert!((1..=600).contains(&body["retry_after"].as_u64().unwrap()));
    t.server.clock().advance(601);
    let (status, body) = t.begin(ALICE.0, &p, &[("password", ALICE.1)]).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_wrong_email_codes_at_once_use_up_the_code_after_five() {
    let (t, _db) = start_on_file("atomic-codes", test_config()).await;
    let p = pkce();
    let (_, body) = t.begin(ALICE.0, &p, &[("method", "email_code")]).await;
    let session = session_of(&body);
    let real = t.last_code(ALICE.0).await;
    let wrong = if real == "000000" { "111111" } else { "000000" };
    let answers = {
        let session = session.clone();
        all_at_once(&t, 40, move |t, _| {
            let session = session.clone();
            async move { t.step(&session, &[("code", wrong)]).await }
        })
        .await
    };
    let tally = tally(&answers);
    eprintln!("answers: {tally:?}");
    assert_eq!(count(&tally, 400, "wrong_credential"), 5, "{tally:?}");
    assert_eq!(count(&tally, 400, "expired"), 35, "{tally:?}");
    let (status, body) = t.step(&session, &[("code", &real)]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("expired")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_wrong_device_verification_codes_at_once_use_up_the_code_after_five() {
    let (t, _db) = start_on_file("atomic-verify-device", test_config()).await;
    let p = pkce();
    let (_, body) = t.begin(DAVE.0, &p, &[("password", DAVE.1)]).await;
    assert_eq!(body["next"]["type"], "verify_device", "{body}");
    let session = session_of(&body);
    let real = t.last_code(DAVE.0).await;
    let wrong = if real == "000000" { "111111" } else { "000000" };
    let answers = {
        let session = session.clone();
        all_at_once(&t, 40, move |t, _| {
            let session = session.clone();
            async move { t.step(&session, &[("code", wrong)]).await }
        })
        .await
    };
    let tally = tally(&answers);
    eprintln!("answers: {tally:?}");
    assert_eq!(count(&tally, 400, "wrong_credential"), 5, "{tally:?}");
    assert_eq!(count(&tally, 400, "expired"), 35, "{tally:?}");
    let (status, body) = t.step(&session, &[("code", &real)]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("expired")),
        "{body}"
    );
}

async fn forgot(t: &TestServer, email: &str) {
    let (status, body) = t
        .post_json("/v1/password/forgot", json!({ "identifier": email }), None)
        .await;
    assert_eq!(status, 202, "{body}");
}

async fn reset(t: &TestServer, email: &str, code: &str) -> (u16, Value) {
    t.post_json(
        "/v1/password/reset",
        json!({"identifier": email, "code": code, "new_password": "a-brand-new-password"}),
        None,
    )
    .await
}

#[tokio::test]
async fn wrong_reset_codes_count_toward_the_account_lockout() {
    let t = start().await;
    forgot(&t, ALICE.0).await;
    let real = t.last_code(ALICE.0).await;
    let wrong = if real == "000000" { "111111" } else { "000000" };
    for left in [4, 3, 2, 1] {
        let (status, body) = reset(&t, ALICE.0, wrong).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("wrong_credential"))
        );
        assert_eq!(body["attempts_left"], left);
    }
    // Four wrong codes and five wrong passwords: one more wrong anything locks.
    for left in (1..=5).rev() {
        let p = pkce();
        let (_, body) = t.begin(ALICE.0, &p, &[("password", "wrong")]).await;
        assert_eq!(body["attempts_left"], left, "{body}");
    }
    let (status, body) = reset(&t, ALICE.0, wrong).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("locked")),
        "{body}"
    );
    assert_eq!(body["retry_after"], 900);
    // That code had its five attempts. A new one, right, is not even checked now, nor the right
    // password.
    forgot(&t, ALICE.0).await;
    let fresh = t.last_code(ALICE.0).await;
    let (status, body) = reset(&t, ALICE.0, &fresh).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("locked")),
        "{body}"
    );
    let p = pkce();
    let (status, body) = t.begin(ALICE.0, &p, &[("password", ALICE.1)]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("locked")),
        "{body}"
    );
    // After the lock, a new code resets the password (and ends the run).
    t.server.clock().advance(900);
    forgot(&t, ALICE.0).await;
    let code = t.last_code(ALICE.0).await;
    let (status, body) = reset(&t, ALICE.0, &code).await;
    assert_eq!(status, 200, "{body}");
    let p = pkce();
    let (_, body) = t.begin(ALICE.0, &p, &[("password", "wrong")]).await;
    assert_eq!(body["attempts_left"], 9, "{body}");
}

#[tokio::test]
async fn reset_codes_from_one_address_are_throttled_like_sign_in_failures() {
    let mut config = test_config();
    config.throttle.max_failures_per_ip = 3;
    config.throttle.window_s = 60;
    let t = start_with(config, "sqlite::memory:", true).await;
    // Guessing codes for three addresses (known or not) uses up this address's attempts.
    for email in [ALICE.0, "ghost@acme.example", BOB.0] {
        forgot(&t, email).await;
        let (status, body) = reset(&t, email, "000001").await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("wrong_credential")),
            "{body}"
        );
    }
    forgot(&t, CAROL.0).await;
    let code = t.last_code(CAROL.0).await;
    let (status, body) = reset(&t, CAROL.0, &code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("slow_down")),
        "{body}"
    );
    assert!((1..=60).contains(&body["retry_after"].as_u64().unwrap()));
    // The sign-in shares the throttle.
    let p = pkce();
    let (status, body) = t.begin(ALICE.0, &p, &[("password", ALICE.1)]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("slow_down")),
        "{body}"
    );
    t.server.clock().advance(61);
    let (status, body) = reset(&t, CAROL.0, &code).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_wrong_reset_codes_at_once_are_checked_ten_times_then_locked() {
    // Codes with many attempts, so that the account's limit is the one that binds, and a short
    // lock, so that the code is still alive afterwards to show how often it was tried.
    let mut config = test_config();
    config.codes.max_attempts = 100;
    config.lockout.lock_s = 60;
    let (t, _db) = start_on_file("atomic-reset", config).await;
    forgot(&t, ALICE.0).await;
    let real = t.last_code(ALICE.0).await;
    let wrong = if real == "000000" { "111111" } else { "000000" };
    let answers = all_at_once(&t, 30, move |t, _| async move {
        reset(&t, ALICE.0, wrong).await
    })
    .await;
    let tally = tally(&answers);
    eprintln!("answers: {tally:?}");
    assert!(count(&tally, 400, "wrong_credential") <= 9, "{tally:?}");
    assert_eq!(
        count(&tally, 400, "wrong_credential") + count(&tally, 403, "locked"),
        30,
        "{tally:?}"
    );
    // Locked: even the right code is not checked.
    let (status, body) = reset(&t, ALICE.0, &real).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("locked")),
        "{body}"
    );
    // After the lock, the code shows it was tried exactly ten times.
    t.server.clock().advance(60);
    let (status, body) = reset(&t, ALICE.0, wrong).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("wrong_credential")),
        "{body}"
    );
    assert_eq!(body["attempts_left"], 100 - 11);
    let (status, body) = reset(&t, ALICE.0, &real).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_right_passwords_for_one_account_all_get_through() {
    // The limit counts attempts in flight; right ones wait for a free slot instead of being
    // refused, so 40 parallel sign-ins of one user all succeed.
    let (t, db) = start_on_file("atomic-right-burst", test_config()).await;
    let answers = all_at_once(&t, 40, |t, _| async move {
        let p = pkce();
        t.begin(ALICE.0, &p, &[("password", ALICE.1)]).await
    })
    .await;
    let tally = tally(&answers);
    eprintln!("answers: {tally:?}");
    assert_eq!(count(&tally, 200, "none"), 40, "{tally:?}");
    assert_eq!(history_count(&db, ALICE.0, "locked").await, 0);
    let p = pkce();
    let (_, body) = t.begin(ALICE.0, &p, &[("password", "wrong")]).await;
    assert_eq!(body["attempts_left"], 9, "{body}");
}
