//! Secrets at rest (issue 10, point 6): a copy of the database file alone lets no one compute a
//! TOTP code or check a guessed email code. TOTP secrets and queued message bodies are sealed
//! (AES-256-GCM) under a key derived from the server key file, which is not in the database; the
//! code HMAC key is derived from the same file.

mod common;

use std::path::Path;

use authcore_server::keys::ServerKey;
use authcore_server::secrets::CodeHasher;
use common::*;
use sqlx::{Connection, Row};

/// Every TEXT or BLOB value of every table of the database file, with where it was found.
async fn every_value(db: &str) -> Vec<(String, Vec<u8>)> {
    let mut conn = sqlx::SqliteConnection::connect(db).await.expect("db opens");
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let mut values = Vec::new();
    for table in tables {
        let columns: Vec<String> =
            sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .fetch_all(&mut conn)
                .await
                .unwrap();
        for column in columns {
            let rows = sqlx::query(&format!(
                "SELECT CAST(\"{column}\" AS BLOB) FROM \"{table}\" WHERE typeof(\"{column}\") IN ('text', 'blob')"
            ))
            .fetch_all(&mut conn)
            .await
            .unwrap();
            for row in rows {
                let value: Vec<u8> = row.get(0);
                values.push((format!("{table}.{column}"), value));
            }
        }
    }
    conn.close().await.unwrap();
    values
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .to_vec()
}

fn config_with_key(key_file: &Path) -> authcore_server::Config {
    let mut config = test_config();
    config.server_key_file = Some(key_file.to_owned());
    config
}

/// Bob (seeded TOTP) signs in with his password and a TOTP code.
async fn bob_signs_in_with_totp(t: &TestServer) -> u16 {
    let p = pkce();
    let (status, body) = t.begin(BOB.0, &p, &[("password", BOB.1)]).await;
    assert_eq!(status, 400, "{body}");
    let code = totp_now(BOB_TOTP, t.now());
    let (status, body) = t
        .step(&session_of(&body), &[("method", "totp"), ("code", &code)])
        .await;
    assert_eq!(status, 200, "{body}");
    status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_of_the_database_alone_opens_no_totp_secret_and_checks_no_code() {
    let dir = temp_path("at-rest");
    let db = format!("sqlite://{}", dir.join("authcore.db").display());
    let key_file = dir.join("server.key");

    // Bob's TOTP is seeded (--dev); Alice asks for an email code, which waits in the outbox.
    let t = start_with(config_with_key(&key_file), &db, true).await;
    let p = pkce();
    let (status, body) = t.begin(ALICE.0, &p, &[("method", "email_code")]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["next"]["type"], "email_code", "{body}");
    let message = t.last_message(ALICE.0).await;
    let body_text = message["body"].as_str().unwrap().to_owned();
    let email_code = code_in(&body_text);
    t.server.shutdown().await;

    // The key file was created with 32 bytes, readable by its owner only.
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(&key_file).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.len(), 32);

    let values = every_value(&db).await;
    let bob_secret = authcore::otp::Secret::from_base32(BOB_TOTP).unwrap();
    let carol_secret = authcore::otp::Secret::from_base32(CAROL_TOTP).unwrap();
    let code_line = format!("code is {email_code}");
    for (place, value) in &values {
        for (what, secret) in [
            ("Bob's TOTP secret", bob_secret.expose()),
            ("Carol's TOTP secret", carol_secret.expose()),
            ("Bob's TOTP secret in base32", BOB_TOTP.as_bytes()),
            ("the email's body", body_text.as_bytes()),
            ("the email code", code_line.as_bytes()),
        ] {
            assert!(
                !contains(value, secret),
                "{what} is in the clear in {place}"
            );
        }
    }
    // TOTP secrets are sealed values (version byte 0xA1), not raw secrets.
    let sealed: Vec<&Vec<u8>> = values
        .iter()
        .filter(|(place, v)| place == "totp_credentials.secret" && !v.is_empty())
        .map(|(_, v)| v)
        .collect();
    assert!(
        sealed.len() >= 2,
        "Bob's and Carol's credentials are stored"
    );
    assert!(sealed
        .iter()
        .all(|v| v[0] == 0xA1 && v.len() == 1 + 12 + 20 + 16));
    // The queued body is sealed text.
    assert!(values
        .iter()
        .filter(|(place, _)| place == "outbox.body")
        .all(|(_, v)| v.starts_with(b"sealed:v1:")));

    // A guessed email code cannot be checked from the database: no stored value is an HMAC of
    // the real code under any key the database holds, nor its SHA-256.
    let mut conn = sqlx::SqliteConnection::connect(&db).await.unwrap();
    let codes: Vec<(i64, Vec<u8>)> = sqlx::query_as("SELECT id, hash FROM codes")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    let stored_keys: Vec<Vec<u8>> = sqlx::query_scalar("SELECT key FROM server_keys")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    assert!(!codes.is_empty());
    let stored: Vec<&Vec<u8>> = values.iter().map(|(_, v)| v).collect();
    for (id, _) in &codes {
        let context = id.to_string();
        let mut guesses = vec![
            sha256(email_code.as_bytes()),
            sha256(format!("{context}\0{email_code}").as_bytes()),
        ];
        for key in &stored_keys {
            guesses.push(CodeHasher::new(key).hash(&context, &email_code));
        }
        for guess in &guesses {
            assert!(
                !stored.contains(&guess),
                "code {id} checks from the database alone"
            );
        }
    }
    // ... while under the key file's HMAC key it does (the check above looks in the right place).
    let key = ServerKey::load(None, Some(&key_file)).unwrap();
    let hasher = CodeHasher::new(&key.hmac_key()[..]);
    assert!(codes
        .iter()
        .any(|(id, hash)| *hash == hasher.hash(&id.to_string(), &email_code)));

    // Restarted with the same key file: Bob's TOTP still signs him in.
    let t = start_with(config_with_key(&key_file), &db, true).await;
    bob_signs_in_with_totp(&t).await;
    // ... and the sealed outbox still reads at /dev/outbox.
    let again = t.last_message(ALICE.0).await;
    assert_eq!(again["body"].as_str().unwrap(), body_text);
    t.server.shutdown().await;

    // With another key the server refuses to start, and says why.
    let other = dir.join("other.key");
    let mut options = authcore_server::ServerOptions::new(
        config_with_key(&other),
        &db,
        "127.0.0.1:0".parse().unwrap(),
    );
    options.dev = true;
    let error = authcore_server::start(options)
        .await
        .err()
        .expect("another key does not open the database")
        .to_string();
    assert!(
        error.contains("sealed data does not open under this server key"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_file_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_path("at-rest-mode");
    let key_file = dir.join("server.key");
    std::fs::write(&key_file, [7u8; 32]).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let db = format!("sqlite://{}", dir.join("authcore.db").display());
    let options = authcore_server::ServerOptions::new(
        config_with_key(&key_file),
        &db,
        "127.0.0.1:0".parse().unwrap(),
    );
    let error = authcore_server::start(options)
        .await
        .err()
        .expect("a world-readable key file is refused")
        .to_string();
    assert!(error.contains("lets group or others read it"), "{error}");

    // A key file of the wrong size is refused too.
    std::fs::write(&key_file, [7u8; 16]).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let options = authcore_server::ServerOptions::new(
        config_with_key(&key_file),
        &db,
        "127.0.0.1:0".parse().unwrap(),
    );
    let error = authcore_server::start(options)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("must hold exactly 32 bytes"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_database_without_a_key_file_uses_one_beside_it() {
    let dir = temp_path("at-rest-default");
    let db = format!("sqlite://{}", dir.join("authcore.db").display());
    let t = start_with(test_config(), &db, true).await;
    t.server.shutdown().await;
    let key_file = dir.join("authcore.db.key");
    assert_eq!(std::fs::metadata(&key_file).unwrap().len(), 32);
    // The same default key reopens it.
    let t = start_with(test_config(), &db, true).await;
    bob_signs_in_with_totp(&t).await;
    t.server.shutdown().await;
}

/// A database from before migration 7 (plaintext TOTP secrets, a pending one, a plaintext
/// queued body and the HMAC key in `server_keys`) is sealed on its first open under a key file;
/// the TOTP and the backup codes hashed under the old key keep working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_from_before_sealing_is_sealed_on_first_open() {
    let dir = temp_path("at-rest-migrate");
    let db = format!("sqlite://{}", dir.join("authcore.db").display());
    let key_file = dir.join("server.key");
    let t = start_with(config_with_key(&key_file), &db, true).await;
    t.server.shutdown().await;

    // Turn it back into a pre-7 database: plaintext rows, a plaintext HMAC key.
    let bob_secret = authcore::otp::Secret::from_base32(BOB_TOTP).unwrap();
    let pending = [9u8; 20];
    let old_key = [5u8; 32];
    let old_hasher = CodeHasher::new(&old_key);
    let mut conn = sqlx::SqliteConnection::connect(&db).await.unwrap();
    let bob_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = ?")
        .bind(BOB.0)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    sqlx::query("UPDATE totp_credentials SET secret = ?, pending_secret = ? WHERE user_id = ?")
        .bind(bob_secret.expose())
        .bind(&pending[..])
        .bind(bob_id)
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("DELETE FROM server_keys")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("INSERT INTO server_keys (name, key) VALUES ('codes', ?)")
        .bind(&old_key[..])
        .execute(&mut conn)
        .await
        .unwrap();
    // Bob's backup code, hashed the way the server hashes them, under the old key.
    let backup = "aaaa-bbbb";
    sqlx::query("DELETE FROM backup_codes WHERE user_id = ?")
        .bind(bob_id)
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("INSERT INTO backup_codes (user_id, hash, created_at) VALUES (?, ?, 0)")
        .bind(bob_id)
        .bind(old_hasher.hash(&format!("backup:{bob_id}"), "aaaabbbb"))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO outbox (channel, recipient, subject, body, created_at) VALUES ('email', 'old@example.com', 's', 'your code is 424242', strftime('%s','now'))",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query("DELETE FROM schema_migrations WHERE version = 7")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    let t = start_with(config_with_key(&key_file), &db, true).await;
    bob_signs_in_with_totp(&t).await;
    let message = t.last_message("old@example.com").await;
    assert_eq!(message["body"], "your code is 424242");
    // The old backup code still verifies (the old HMAC key is kept, sealed).
    let p = pkce();
    let (_, body) = t.begin(BOB.0, &p, &[("password", BOB.1)]).await;
    let (status, body) = t
        .step(
            &session_of(&body),
            &[("method", "backup_code"), ("code", backup)],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    t.server.shutdown().await;

    for (place, value) in every_value(&db).await {
        assert!(
            !contains(&value, bob_secret.expose()),
            "plaintext in {place}"
        );
        assert!(!contains(&value, &pending), "pending plaintext in {place}");
        assert!(!contains(&value, &old_key), "old key in {place}");
        assert!(!contains(&value, b"424242"), "queued body in {place}");
    }
}

/// Counts the outbox rows of the database file (read beside the running server).
async fn outbox_rows(db: &str) -> Vec<String> {
    let mut conn = sqlx::SqliteConnection::connect(&format!("{db}?mode=ro"))
        .await
        .unwrap();
    let rows = sqlx::query_scalar("SELECT recipient FROM outbox")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    rows
}

/// Waits (a failsafe, not a timing assertion) until `done` holds for the outbox.
async fn wait_for_outbox(db: &str, what: &str, done: impl Fn(&[String]) -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let rows = outbox_rows(db).await;
        if done(&rows) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: {rows:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Without `--dev` a queued message is deleted once delivered, and an undeliverable one once its
/// code's lifetime (`codes.ttl_s`) has passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_dev_a_message_is_deleted_once_delivered_or_expired() {
    use std::sync::{Arc, Mutex};
    let dir = temp_path("at-rest-outbox");
    let db = format!("sqlite://{}", dir.join("authcore.db").display());
    let key_file = dir.join("server.key");
    // The dev users are seeded once; the server then runs without --dev.
    let t = start_with(config_with_key(&key_file), &db, true).await;
    t.server.shutdown().await;

    let received = Arc::new(Mutex::new(0usize));
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/sms",
        axum::routing::post(move || {
            let sink = sink.clone();
            async move {
                *sink.lock().unwrap() += 1;
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut config = config_with_key(&key_file);
    config.sms_webhook = Some(authcore_server::config::SmsWebhookConfig {
        url: format!("http://{addr}/sms"),
        bearer_token: None,
    });
    let t = start_with(config, &db, false).await;

    // An SMS code is delivered, then its row is gone.
    let p = pkce();
    let (status, body) = t.begin("+15555550101", &p, &[]).await;
    assert_eq!(status, 400, "{body}");
    wait_for_outbox(&db, "the delivered SMS is deleted", |rows| {
        *received.lock().unwrap() == 1 && rows.is_empty()
    })
    .await;

    // An email code cannot be delivered (no SMTP): it waits, sealed, until its code is dead.
    let p = pkce();
    let (status, body) = t.begin(ALICE.0, &p, &[("method", "email_code")]).await;
    assert_eq!(status, 400, "{body}");
    wait_for_outbox(&db, "the email waits", |rows| rows == [ALICE.0]).await;
    t.server.clock().advance(601);
    wait_for_outbox(&db, "the expired email is deleted", <[String]>::is_empty).await;
    t.server.shutdown().await;
}

/// A pending TOTP secret (`POST /v1/me/totp` before its confirmation) is sealed too, straight
/// from the store: it opens under the key it was sealed with, and the file under another key is
/// refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_totp_secret_is_sealed_in_the_store() {
    use authcore_server::store::sqlite::SqliteStore;
    use authcore_server::store::{NewUser, Store};
    let dir = temp_path("at-rest-pending");
    let db = format!("sqlite://{}", dir.join("authcore.db").display());
    let key = ServerKey::load(None, Some(&dir.join("server.key"))).unwrap();
    let store = SqliteStore::open_sealed(&db, &key).await.unwrap();
    let id = store
        .ensure_user(NewUser {
            email: "erin@acme.example".into(),
            phone: None,
            name: "Erin".into(),
            password_hash: None,
        })
        .await
        .unwrap();
    let secret = [0x5au8; 20];
    store.start_totp(id, &secret, 1).await.unwrap();
    let credential = store.totp(id).await.unwrap().unwrap();
    assert_eq!(credential.pending.as_deref(), Some(&secret[..]));
    assert!(!credential.confirmed);
    store.close().await;

    for (place, value) in every_value(&db).await {
        assert!(
            !contains(&value, &secret),
            "the pending secret is in {place}"
        );
    }
    let other = ServerKey::load(None, Some(&dir.join("other.key"))).unwrap();
    let error = SqliteStore::open_sealed(&db, &other)
        .await
        .err()
        .expect("another key is refused")
        .to_string();
    assert!(
        error.contains("sealed data does not open under this server key"),
        "{error}"
    );
}
