//! SIGTERM drains like Ctrl-C (issue 10, point 8): the server binary, sent SIGTERM with `kill`
//! while a sign-in long-polls, answers that long-poll in full and then exits 0. Its JSON logs
//! (`--log-format json`) carry request ids and security events, and none of the secrets used.

mod common;
mod phone;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use common::*;
use phone::*;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_an_in_flight_long_poll_finish_then_exits_zero() {
    // Alice's phone is enrolled in-process on a file database; the binary then serves it (the
    // same `<db>.key` beside it opens the sealed data).
    let dir = temp_path("sigterm");
    let db = format!("sqlite://{}", dir.join("authcore.db").display());
    let t = start_with(test_config(), &db, true).await;
    let (_, _phone) = alice_with_phone(&t).await;
    t.server.shutdown().await;

    let config = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/demo.toml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_authcore-server"))
        .arg(&config)
        .arg(&db)
        .arg("127.0.0.1:0")
        .args(["--log-format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server binary starts");
    // Read stderr (the logs) on a thread so the pipe never fills.
    let mut stderr = child.stderr.take().unwrap();
    let logs = std::thread::spawn(move || {
        let mut logs = String::new();
        let _ = stderr.read_to_string(&mut logs);
        logs
    });
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {line}"))
        .to_owned();

    // One client, so the long-poll goes over the connection already accepted.
    let http = reqwest::Client::builder()
        .user_agent("authcore-tests/1")
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    let p = pkce();
    let response = http
        .post(format!("{base}/v1/authorize-challenge"))
        .form(&[
            ("client_id", CLIENT),
            ("identifier", ALICE.0),
            ("code_challenge", p.challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("password", ALICE.1),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["next"]["type"], "push", "{body}");
    let session = session_of(&body);

    let waiting = {
        let (http, base, session) = (http.clone(), base.clone(), session.clone());
        tokio::spawn(async move {
            let response = http
                .post(format!("{base}/v1/authorize-challenge"))
                .form(&[
                    ("client_id", CLIENT),
                    ("auth_session", session.as_str()),
                    ("wait", "3"),
                ])
                .send()
                .await
                .expect("the long-poll is answered, not cut");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        })
    };
    // Let the long-poll reach the handler (sequencing, not a timing assertion).
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());

    // The long-poll ends as it would have: still waiting for the phone.
    let (status, answer) = waiting.await.unwrap();
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"], "insufficient_authorization", "{answer}");
    assert_eq!(answer["next"]["type"], "push", "{answer}");

    let exit = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(exit.success(), "exit status {exit:?}");
    let _ = stdout.read_to_string(&mut String::new());

    // Logs: one JSON object a line, the requests with their request ids, the signal.
    let logs = logs.join().unwrap();
    let lines: Vec<Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    assert!(lines
        .iter()
        .any(|l| l["message"] == "shutting down: letting in-flight requests finish"));
    assert!(lines.iter().any(|l| l["message"] == "request"
        && l["span"]["request_id"]
            .as_str()
            .is_some_and(|id| id.len() == 16)));
    for secret in [ALICE.1, session.as_str(), p.verifier.as_str()] {
        assert!(!logs.contains(secret), "a secret is in the server's logs");
    }
}
