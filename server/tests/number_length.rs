//! `push.number_length` up to 8 digits (issue 10, point 8): the sign-in shows an 8-digit number,
//! the phone is told the length (not the number), enters it, and the sign-in completes.

mod common;
mod phone;

use common::*;
use phone::*;

#[tokio::test]
async fn an_eight_digit_number_is_matched_end_to_end() {
    let mut config = test_config();
    config.push.number_length = 8;
    let t = start_with(config, "sqlite::memory:", true).await;
    let (_, phone) = alice_with_phone(&t).await;
    let (session, pkce, next) = password_then_push(&t, ALICE).await;
    let number = next["number"].as_str().unwrap().to_owned();
    assert_eq!(number.len(), 8, "{next}");
    assert!(number.bytes().all(|b| b.is_ascii_digit()) && !number.starts_with('0'));
    let challenge = phone.next_challenge(&t).await;
    assert_eq!(challenge["number_length"], 8);
    assert!(challenge.get("number").is_none());
    let (status, answer) = phone
        .approve(&t, challenge["request_id"].as_str().unwrap(), &number)
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result"], "approved");
    let (status, done) = t.step(&session, &[]).await;
    assert_eq!(status, 200, "{done}");
    t.exchange(done["authorization_code"].as_str().unwrap(), &pkce)
        .await;
}

#[tokio::test]
async fn an_eight_digit_number_typed_wrong_is_a_mismatch() {
    let mut config = test_config();
    config.push.number_length = 8;
    let t = start_with(config, "sqlite::memory:", true).await;
    let (_, phone) = alice_with_phone(&t).await;
    let (_, _, next) = password_then_push(&t, ALICE).await;
    let number = next["number"].as_str().unwrap();
    // Same length, one digit off.
    let last = number.as_bytes()[7];
    let wrong = format!(
        "{}{}",
        &number[..7],
        if last == b'9' {
            '8'
        } else {
            char::from(last + 1)
        }
    );
    let challenge = phone.next_challenge(&t).await;
    let (status, answer) = phone
        .approve(&t, challenge["request_id"].as_str().unwrap(), &wrong)
        .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"], "number_mismatch");
}

#[test]
fn number_lengths_outside_two_to_eight_are_refused_at_load() {
    for (length, ok) in [
        (1, false),
        (2, true),
        (6, true),
        (7, true),
        (8, true),
        (9, false),
    ] {
        let toml = demo_toml().replace("number_length = 2", &format!("number_length = {length}"));
        match authcore_server::Config::from_toml(&toml) {
            Ok(config) => {
                assert!(ok, "{length} digits accepted");
                assert_eq!(config.push.number_length, length);
            }
            Err(error) => {
                assert!(!ok, "{length} digits refused: {error}");
                assert_eq!(
                    error.to_string(),
                    "config is not valid: push.number_length must be 2 to 8"
                );
            }
        }
    }
}
