//! The server process is SIGKILLed in the middle of sign-ins; after a restart on the same SQLite
//! file no half-written state is visible and every completed sign-in's session still works.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use common::*;
use sqlx::Connection;

fn spawn_server(config: &std::path::Path, db: &str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_authcore-server"))
        .args([config.to_str().unwrap(), db, "127.0.0.1:0", "--dev"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn authcore-server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_owned();
    (child, base)
}

fn client_for(base: &str) -> TestServerless {
    TestServerless {
        base: base.to_owned(),
        http: reqwest::Client::new(),
    }
}

/// The protocol client without an in-process server.
struct TestServerless {
    base: String,
    http: reqwest::Client,
}

impl TestServerless {
    async fn form(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> Result<(u16, serde_json::Value), reqwest::Error> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or_default()))
    }

    async fn sign_in(&self) -> Result<Tokens, reqwest::Error> {
        let p = pkce();
        let (_, body) = self
            .form(
                "/v1/authorize-challenge",
                &[
                    ("client_id", CLIENT),
                    ("identifier", ALICE.0),
                    ("code_challenge", &p.challenge),
                    ("code_challenge_method", "S256"),
                    ("password", ALICE.1),
                ],
            )
            .await?;
        let code = body["authorization_code"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let (status, body) = self
            .form(
                "/v1/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", CLIENT),
                    ("code", &code),
                    ("code_verifier", &p.verifier),
                ],
            )
            .await?;
        assert_eq!(status, 200, "{body}");
        Ok(tokens_of(&body))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_sign_ins_leaves_no_half_state() {
    let dir = temp_path("crash");
    let config = dir.join("demo.toml");
    std::fs::write(
        &config,
        demo_toml()
            .replace("memory_kib = 19456", "memory_kib = 1024")
            .replace("iterations = 2", "iterations = 1"),
    )
    .unwrap();
    let db = format!("sqlite://{}", dir.join("authcore.db").display());

    let (mut child, base) = spawn_server(&config, &db);
    let client = Arc::new(client_for(&base));
    let done = Arc::new(tokio::sync::Mutex::new(Vec::<Tokens>::new()));
    let (enough_tx, mut enough_rx) = tokio::sync::mpsc::channel::<()>(1);
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (client, done, enough) = (client.clone(), done.clone(), enough_tx.clone());
        workers.push(tokio::spawn(async move {
            // Sign in over and over until the server dies under us.
            for _ in 0..500 {
                match client.sign_in().await {
                    Ok(tokens) => {
                        let mut done = done.lock().await;
                        done.push(tokens);
                        if done.len() >= 40 {
                            let _ = enough.try_send(());
                        }
                    }
                    Err(_) => return,
                }
            }
        }));
    }
    enough_rx.recv().await;
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    for worker in workers {
        let _ = worker.await;
    }
    let completed = done.lock().await.clone();
    assert!(completed.len() >= 40);

    // Restart on the same file.
    let (mut child, base) = spawn_server(&config, &db);
    let client = client_for(&base);
    for tokens in &completed {
        let response = client
            .http
            .get(format!("{base}/v1/userinfo"))
            .bearer_auth(&tokens.access)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status().as_u16(),
            200,
            "a completed sign-in's session survives"
        );
    }
    let (status, body) = client
        .form(
            "/v1/token",
            &[
                ("grant_type", "refresh_token"),
                ("client_id", CLIENT),
                ("refresh_token", &completed[0].refresh),
            ],
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    client
        .sign_in()
        .await
        .expect("new sign-ins work after the restart");

    // No half-written rows.
    let mut db = sqlx::SqliteConnection::connect(&db).await.unwrap();
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(integrity, "ok");
    let checks = [
        ("live sessions without a refresh token",
         "SELECT COUNT(*) FROM sessions s WHERE revoked_at IS NULL AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.session_id = s.id)"),
        ("redeemed codes without their session",
         "SELECT COUNT(*) FROM authorization_codes WHERE used_at IS NOT NULL AND session_id IS NULL"),
        ("completed auth sessions without an authorization code",
         "SELECT COUNT(*) FROM auth_sessions a WHERE completed_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM authorization_codes c WHERE c.auth_session_id = a.id)"),
        ("sessions without their authorization code",
         "SELECT COUNT(*) FROM sessions s WHERE NOT EXISTS (SELECT 1 FROM authorization_codes c WHERE c.session_id = s.id)"),
    ];
    for (what, sql) in checks {
        let n: i64 = sqlx::query_scalar(sql).fetch_one(&mut db).await.unwrap();
        assert_eq!(n, 0, "{what}");
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
