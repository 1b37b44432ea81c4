//! [`Store`] on SQLite: WAL, foreign keys, the schema applied in one transaction on first open.
//! All writes go through one connection (no `SQLITE_BUSY` between writers); reads use a few more
//! read-only ones (in WAL they see every committed write), so they never wait behind a write.

use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteRow, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, Row, Sqlite, Transaction};
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

use super::*;
use crate::keys::{outbox_associated, totp_associated, Sealer, ServerKey};
use crate::secrets::{constant_time_eq, SecretString};

const SCHEMA_V1: &str = include_str!("schema.sql");
const SCHEMA_V2: &str = include_str!("schema_v2.sql");
const SCHEMA_V4: &str = include_str!("schema_v4.sql");

mod devices;
mod security;

/// Version 3: indexes that keep the hot queries from
/// growing with history. The outbox worker's pending look-up scanned every message ever sent;
/// killing a key's live codes visited every code it ever had; the send cap counted them all.
const SCHEMA_V3: &str = "
CREATE INDEX outbox_pending ON outbox(id) WHERE sent_at IS NULL AND attempts < 5;
CREATE INDEX codes_live ON codes(key, purpose) WHERE dead = 0;
CREATE INDEX codes_sends ON codes(key, created_at);
";

/// Version 5: whether a device's platform attestation verified at activation (Android Key
/// Attestation, Apple App Attest); passwordless push needs it (`push.require_attestation`).
const SCHEMA_V5: &str = "ALTER TABLE devices ADD COLUMN attested INTEGER NOT NULL DEFAULT 0;";

/// Version 6: limits (issue 10). When the last attempt of a failure run was reserved (attempts
/// are counted before they are checked); unauthenticated phone sign-ins get their own push
/// budget per identifier; authorization codes refused by a logout-all or a password reset.
const SCHEMA_V6: &str = "
ALTER TABLE password_failures ADD COLUMN reserved_at INTEGER;
CREATE TABLE passwordless_pushes (
    push_request_id INTEGER PRIMARY KEY REFERENCES push_requests(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX passwordless_pushes_by_key ON passwordless_pushes(key, created_at);
CREATE TABLE revoked_authorization_codes (
    hash BLOB PRIMARY KEY REFERENCES authorization_codes(hash) ON DELETE CASCADE,
    revoked_at INTEGER NOT NULL
);
";

/// Read-only connections beside the writer.
const READERS: usize = 4;

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        // Only the kind of failure: sqlx errors can quote values in some cases.
        let kind = match &error {
            sqlx::Error::Database(db) => format!("database error {:?}", db.code()),
            sqlx::Error::PoolTimedOut => "pool timed out".into(),
            sqlx::Error::Io(_) => "i/o error".into(),
            sqlx::Error::RowNotFound => "row not found".into(),
            sqlx::Error::ColumnDecode { index, .. } => format!("cannot decode column {index}"),
            _ => "other sqlx error".into(),
        };
        StoreError(kind)
    }
}

pub struct SqliteStore {
    writer: Conn,
    /// Read-only connections (none for `:memory:`, where reads use the writer).
    readers: Vec<Conn>,
    next_reader: AtomicUsize,
    /// Device nonces waiting to be written together ([`devices::NonceQueue`]).
    nonces: devices::NonceQueue,
    /// Seals TOTP secrets and queued message bodies (the server key's sealing key).
    sealer: Sealer,
    /// The HMAC key for codes: derived from the server key, or (databases from before
    /// migration 7) the old random key, now kept sealed.
    code_key: zeroize::Zeroizing<Vec<u8>>,
}

/// One connection (with its own sqlx worker thread), used by one task at a time. Not a sqlx
/// pool: a pool pings the worker after every release, which doubles the thread switches per
/// statement. A dropped sqlx transaction is rolled back by sqlx before the next command runs; an
/// unfinished [`RawTx`] is rolled back here before the connection is used again.
struct Conn(Mutex<Option<Link>>);

struct Link {
    conn: SqliteConnection,
    /// A [`RawTx`] began and did not finish (an error, an early return, a cancelled request).
    open_tx: bool,
}

type ConnGuard<'a> = MappedMutexGuard<'a, SqliteConnection>;

impl Conn {
    fn new(conn: SqliteConnection) -> Conn {
        Conn(Mutex::new(Some(Link {
            conn,
            open_tx: false,
        })))
    }

    fn closed() -> StoreError {
        StoreError("the database is closed".into())
    }

    fn map(guard: MutexGuard<'_, Option<Link>>) -> StoreResult<ConnGuard<'_>> {
        MutexGuard::try_map(guard, |link| link.as_mut().map(|l| &mut l.conn))
            .map_err(|_| Self::closed())
    }

    /// The connection, with any unfinished raw transaction rolled back.
    async fn settled(&self) -> StoreResult<MappedMutexGuard<'_, Link>> {
        let guard = self.0.lock().await;
        let mut link = MutexGuard::try_map(guard, Option::as_mut).map_err(|_| Self::closed())?;
        if link.open_tx {
            // Harmless when the transaction never began.
            let _ = sqlx::query("ROLLBACK").execute(&mut link.conn).await;
            link.open_tx = false;
        }
        Ok(link)
    }

    async fn lock(&self) -> StoreResult<ConnGuard<'_>> {
        Ok(MappedMutexGuard::map(self.settled().await?, |l| {
            &mut l.conn
        }))
    }

    async fn close(&self) {
        if let Some(link) = self.0.lock().await.take() {
            let _ = link.conn.close().await;
        }
    }
}

/// A transaction on the writer written as plain SQL batches: the first batch starts with
/// `BEGIN IMMEDIATE;` and the last ends with `COMMIT` ([`RawTx::finish`]), so a domain operation
/// costs one or two trips to the connection's thread instead of one per statement plus one each
/// for sqlx's `begin()` and `commit()`. Batches run with `fetch_all`, which runs every statement
/// (`fetch_one`/`fetch_optional` stop at the first row). Parameters are plain `?`, bound in order
/// over the whole batch: sqlx-sqlite binds numbered `?N` wrongly in a batch whose statements do
/// not each use every number from 1 up.
struct RawTx<'a>(MappedMutexGuard<'a, Link>);

impl RawTx<'_> {
    /// Runs a batch inside the transaction; returns the rows of all its statements.
    async fn run(&mut self, batch: SqlBatch<'_>) -> StoreResult<Vec<SqliteRow>> {
        Ok(batch.fetch_all(&mut self.0.conn).await?)
    }

    /// Runs the last batch, which ends with `COMMIT` (or `ROLLBACK`); returns its rows.
    async fn finish(mut self, batch: SqlBatch<'_>) -> StoreResult<Vec<SqliteRow>> {
        let rows = self.run(batch).await?;
        self.0.open_tx = false;
        Ok(rows)
    }

    async fn rollback(self) -> StoreResult<()> {
        self.finish(sqlx::query("ROLLBACK")).await.map(drop)
    }
}

type SqlBatch<'q> = sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

fn ts(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn un(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn join(factors: &[String]) -> String {
    factors.join(",")
}

fn split(factors: &str) -> Vec<String> {
    factors
        .split(',')
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect()
}

type Tx<'a> = Transaction<'a, Sqlite>;

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` under the key the server would use
    /// without a configured one: `<database file>.key` beside a file database, a random key
    /// for this process for `sqlite::memory:`.
    pub async fn open(url: &str) -> StoreResult<SqliteStore> {
        let file = crate::keys::default_key_file(url);
        let key = ServerKey::load(None, file.as_deref()).map_err(StoreError)?;
        Self::open_sealed(url, &key).await
    }

    /// Opens (creating if needed) the database at `url` (`sqlite://file.db`, `sqlite::memory:`),
    /// applies the schema and checks that `key` is the key its sealed data was sealed with
    /// (migration 7 seals a database from before sealing under it).
    pub async fn open_sealed(url: &str, key: &ServerKey) -> StoreResult<SqliteStore> {
        let memory = url.contains(":memory:") || url.contains("mode=memory");
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|_| StoreError(format!("not a SQLite URL: {url}")))?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .synchronous(SqliteSynchronous::Normal);
        let options = if memory {
            options
        } else {
            options.journal_mode(SqliteJournalMode::Wal)
        };
        let writer = Conn::new(options.connect().await?);
        let mut readers = Vec::new();
        if !memory {
            // Each connection to `:memory:` is its own database: there the writer serves reads.
            for _ in 0..READERS {
                readers.push(Conn::new(options.clone().read_only(true).connect().await?));
            }
        }
        let store = SqliteStore {
            writer,
            readers,
            next_reader: AtomicUsize::new(0),
            nonces: devices::NonceQueue::default(),
            sealer: key.sealer(),
            code_key: zeroize::Zeroizing::new(Vec::new()),
        };
        store.migrate().await?;
        let legacy = store.seal_at_rest().await?;
        let mut store = store;
        store.code_key = match legacy {
            Some(legacy) => legacy,
            None => zeroize::Zeroizing::new(key.hmac_key().to_vec()),
        };
        Ok(store)
    }

    /// Migration 7, secrets sealed at rest: on the first open under a server key, seals every
    /// TOTP secret (pending and confirmed) and queued message body, seals the old in-database
    /// HMAC key (`server_keys.codes`, kept so existing backup codes still verify) and records a
    /// key check. Later opens verify the key check, so a wrong key is refused at start-up.
    /// Returns the old HMAC key when the database had one.
    async fn seal_at_rest(&self) -> StoreResult<Option<zeroize::Zeroizing<Vec<u8>>>> {
        const CHECK: &[u8] = b"authcore server key check";
        let mut conn = self.write().await?;
        // Overwrite the plaintext's old cells instead of leaving them in free pages.
        sqlx::query("PRAGMA secure_delete = ON")
            .execute(&mut *conn)
            .await?;
        let mut tx = conn.begin().await?;
        let applied: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = 7)")
                .fetch_one(&mut *tx)
                .await?;
        if !applied {
            if let Some(legacy) =
                sqlx::query_scalar::<_, Vec<u8>>("SELECT key FROM server_keys WHERE name = 'codes'")
                    .fetch_optional(&mut *tx)
                    .await?
            {
                sqlx::query("INSERT INTO server_keys (name, key) VALUES ('codes_sealed', ?)")
                    .bind(self.sealer.seal(b"server_keys:codes", &legacy))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM server_keys WHERE name = 'codes'")
                    .execute(&mut *tx)
                    .await?;
            }
            let rows: Vec<(i64, Vec<u8>, Option<Vec<u8>>)> =
                sqlx::query_as("SELECT user_id, secret, pending_secret FROM totp_credentials")
                    .fetch_all(&mut *tx)
                    .await?;
            for (user_id, secret, pending) in rows {
                let ad = totp_associated(user_id);
                let secret = zeroize::Zeroizing::new(secret);
                let sealed = if secret.is_empty() {
                    Vec::new()
                } else {
                    self.sealer.seal(&ad, &secret)
                };
                sqlx::query(
                    "UPDATE totp_credentials SET secret = ?, pending_secret = ? WHERE user_id = ?",
                )
                .bind(sealed)
                .bind(pending.map(|p| self.sealer.seal(&ad, &zeroize::Zeroizing::new(p))))
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            }
            let bodies: Vec<(i64, String, String)> =
                sqlx::query_as("SELECT id, recipient, body FROM outbox WHERE body != ''")
                    .fetch_all(&mut *tx)
                    .await?;
            for (id, recipient, body) in bodies {
                let body = zeroize::Zeroizing::new(body);
                sqlx::query("UPDATE outbox SET body = ? WHERE id = ?")
                    .bind(self.sealer.seal_text(&outbox_associated(&recipient), &body))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("INSERT INTO server_keys (name, key) VALUES ('key_check', ?)")
                .bind(self.sealer.seal(b"server_keys:key_check", CHECK))
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (7, strftime('%s','now'))",
            )
            .execute(&mut *tx)
            .await?;
        }
        let check: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT key FROM server_keys WHERE name = 'key_check'")
                .fetch_optional(&mut *tx)
                .await?;
        let opens = check
            .map(|c| self.sealer.open(b"server_keys:key_check", &c))
            .transpose()
            .map_err(|e| StoreError(e.to_string()))?;
        if opens.as_deref().map(|c| &c[..]) != Some(CHECK) {
            return Err(StoreError(crate::keys::SealError::WrongKey.to_string()));
        }
        let legacy: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT key FROM server_keys WHERE name = 'codes_sealed'")
                .fetch_optional(&mut *tx)
                .await?;
        let legacy = legacy
            .map(|sealed| self.sealer.open(b"server_keys:codes", &sealed))
            .transpose()
            .map_err(|e| StoreError(e.to_string()))?;
        tx.commit().await?;
        sqlx::query("PRAGMA secure_delete = OFF")
            .execute(&mut *conn)
            .await?;
        Ok(legacy)
    }

    /// A message body as the outbox keeps it: sealed under the server key. Every insert into
    /// `outbox` binds its body through this.
    pub(crate) fn seal_body(&self, recipient: &str, body: &str) -> String {
        self.sealer.seal_text(&outbox_associated(recipient), body)
    }

    fn open_totp(&self, user_id: i64, sealed: Vec<u8>) -> StoreResult<Vec<u8>> {
        if sealed.is_empty() {
            return Ok(sealed);
        }
        self.sealer
            .open(&totp_associated(user_id), &sealed)
            .map(|s| s.to_vec())
            .map_err(|e| StoreError(format!("TOTP secret of user {user_id}: {e}")))
    }

    async fn migrate(&self) -> StoreResult<()> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
        )
        .execute(&mut *tx)
        .await?;
        let applied: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
            .fetch_one(&mut *tx)
            .await?;
        if applied.unwrap_or(0) < 1 {
            sqlx::raw_sql(SCHEMA_V1).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES (1, strftime('%s','now'))")
                .execute(&mut *tx)
                .await?;
        }
        Self::apply_once(&mut tx, 2, SCHEMA_V2).await?;
        Self::apply_once(&mut tx, 3, SCHEMA_V3).await?;
        Self::apply_once(&mut tx, 4, SCHEMA_V4).await?;
        Self::apply_once(&mut tx, 5, SCHEMA_V5).await?;
        Self::apply_once(&mut tx, 6, SCHEMA_V6).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Applies migration `version` unless it is recorded (versions need not arrive in order).
    async fn apply_once(tx: &mut Tx<'_>, version: i64, sql: &str) -> StoreResult<()> {
        let applied: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?)")
                .bind(version)
                .fetch_one(&mut **tx)
                .await?;
        if !applied {
            sqlx::raw_sql(sql).execute(&mut **tx).await?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?, strftime('%s','now'))",
            )
            .bind(version)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Closes every connection (checkpointing the WAL).
    pub async fn close(&self) {
        for reader in &self.readers {
            reader.close().await;
        }
        self.writer.close().await;
    }

    /// The writer connection, for writes and the reads that decide them.
    async fn write(&self) -> StoreResult<ConnGuard<'_>> {
        self.writer.lock().await
    }

    /// The writer for a [`RawTx`]; the caller's first batch begins it.
    async fn write_tx(&self) -> StoreResult<RawTx<'_>> {
        let mut link = self.writer.settled().await?;
        link.open_tx = true;
        Ok(RawTx(link))
    }

    /// A free reader connection (or, when all are busy, the next one in turn).
    async fn read(&self) -> StoreResult<ConnGuard<'_>> {
        if self.readers.is_empty() {
            return self.write().await;
        }
        for reader in &self.readers {
            if let Ok(guard) = reader.0.try_lock() {
                return Conn::map(guard);
            }
        }
        let next = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        self.readers[next].lock().await
    }

    async fn insert_tokens(
        tx: &mut Tx<'_>,
        session_id: i64,
        user_id: i64,
        now: u64,
        tokens: &NewTokens,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO access_tokens (hash, session_id, expires_at) VALUES (?, ?, ?)")
            .bind(&tokens.access_hash)
            .bind(session_id)
            .bind(ts(tokens.access_expires_at))
            .execute(&mut **tx)
            .await?;
        sqlx::query(
            "INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        )
        .bind(&tokens.refresh_hash)
        .bind(session_id)
        .bind(ts(now))
        .bind(ts(tokens.refresh_expires_at))
        .execute(&mut **tx)
        .await?;
        if let Some((hash, expires_at)) = &tokens.device_token {
            sqlx::query(
                "INSERT INTO device_tokens (hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
            )
            .bind(hash)
            .bind(user_id)
            .bind(ts(now))
            .bind(ts(*expires_at))
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Revokes a session and deletes its tokens (one batch; inside the caller's transaction).
    async fn revoke_session_tx(
        conn: &mut SqliteConnection,
        session_id: i64,
        now: u64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL;
             DELETE FROM access_tokens WHERE session_id = ?;
             DELETE FROM refresh_tokens WHERE session_id = ?",
        )
        .bind(ts(now))
        .bind(session_id)
        .bind(session_id)
        .bind(session_id)
        .execute(conn)
        .await?;
        Ok(())
    }
}

type UserRow = (i64, String, Option<String>, String, Option<String>);

fn user_of(row: UserRow) -> User {
    User {
        id: row.0,
        email: row.1,
        phone: row.2,
        name: row.3,
        password_hash: row.4,
    }
}

const USER_COLUMNS: &str = "SELECT id, email, phone, name, password_hash FROM users";

fn session_of(row: (i64, i64, String, i64)) -> Session {
    Session {
        id: row.0,
        user_id: row.1,
        client_id: row.2,
        created_at: un(row.3),
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn server_key(&self) -> StoreResult<Vec<u8>> {
        Ok(self.code_key.to_vec())
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(&format!("{USER_COLUMNS} WHERE email = ?"))
            .bind(email)
            .fetch_optional(&mut *self.read().await?)
            .await?;
        Ok(row.map(user_of))
    }

    async fn user_by_phone(&self, phone: &str) -> StoreResult<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(&format!("{USER_COLUMNS} WHERE phone = ?"))
            .bind(phone)
            .fetch_optional(&mut *self.read().await?)
            .await?;
        Ok(row.map(user_of))
    }

    async fn user(&self, id: i64) -> StoreResult<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(&format!("{USER_COLUMNS} WHERE id = ?"))
            .bind(id)
            .fetch_optional(&mut *self.read().await?)
            .await?;
        Ok(row.map(user_of))
    }

    async fn ensure_user(&self, user: NewUser) -> StoreResult<i64> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let existing: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE email = ?")
            .bind(&user.email)
            .fetch_optional(&mut *tx)
            .await?;
        let id = match existing {
            Some(id) => id,
            None => sqlx::query_scalar(
                "INSERT INTO users (email, phone, name, password_hash, created_at) VALUES (?, ?, ?, ?, strftime('%s','now')) RETURNING id",
            )
            .bind(&user.email)
            .bind(&user.phone)
            .bind(&user.name)
            .bind(&user.password_hash)
            .fetch_one(&mut *tx)
            .await?,
        };
        tx.commit().await?;
        Ok(id)
    }

    async fn clear_password_failures(&self, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM password_failures WHERE key = ?")
            .bind(key)
            .execute(&mut *self.write().await?)
            .await?;
        Ok(())
    }

    async fn reserve_attempt(
        &self,
        key: &str,
        now: u64,
        max: u32,
        lock_s: u64,
    ) -> StoreResult<Attempt> {
        let mut tx = self.write_tx().await?;
        let rows = tx
            .run(
                sqlx::query(
                    "BEGIN IMMEDIATE;
                     SELECT failures, locked_until, reserved_at FROM password_failures WHERE key = ?",
                )
                .bind(key),
            )
            .await?;
        let (mut failures, locked_until, reserved_at) = match rows.first() {
            Some(row) => (
                u32::try_from(row.try_get::<i64, _>(0)?).unwrap_or(u32::MAX),
                row.try_get::<Option<i64>, _>(1)?.map(un),
                row.try_get::<Option<i64>, _>(2)?.map(un),
            ),
            None => (0, None, None),
        };
        if let Some(until) = locked_until.filter(|until| *until > now) {
            tx.rollback().await?;
            return Ok(Attempt::Locked { until });
        }
        if locked_until.is_some() {
            // A lock that ran out starts a fresh run.
            failures = 0;
        }
        if failures >= max {
            if reserved_at.is_some_and(|at| at + RESERVATION_TIMEOUT_S > now) {
                // The last attempts are still being checked: one of them may prove right.
                tx.rollback().await?;
                return Ok(Attempt::Busy);
            }
            // Attempts that were never settled (or a lowered limit): they count as wrong.
            let until = now + lock_s;
            tx.finish(
                sqlx::query("UPDATE password_failures SET locked_until = ? WHERE key = ?; COMMIT")
                    .bind(ts(until))
                    .bind(key),
            )
            .await?;
            return Ok(Attempt::Locked { until });
        }
        failures += 1;
        tx.finish(
            sqlx::query(
                "INSERT INTO password_failures (key, failures, locked_until, reserved_at) VALUES (?, ?, NULL, ?)
                 ON CONFLICT(key) DO UPDATE SET failures = excluded.failures, locked_until = NULL,
                     reserved_at = excluded.reserved_at;
                 COMMIT",
            )
            .bind(key)
            .bind(i64::from(failures))
            .bind(ts(now)),
        )
        .await?;
        Ok(Attempt::Reserved(FailureState {
            failures,
            locked_until: None,
        }))
    }

    async fn settle_wrong_attempt(
        &self,
        key: &str,
        now: u64,
        max: u32,
        lock_s: u64,
    ) -> StoreResult<FailureState> {
        // One trip on the writer. The attempt was counted when reserved; a right answer that
        // ended the run meanwhile removed the row, and then this one starts the next run.
        let tx = self.write_tx().await?;
        let rows = tx
            .finish(
                sqlx::query(
                    "BEGIN IMMEDIATE;
                     INSERT OR IGNORE INTO password_failures (key, failures, locked_until, reserved_at) VALUES (?, 1, NULL, ?);
                     UPDATE password_failures SET locked_until = ?
                         WHERE key = ? AND failures >= ? AND (locked_until IS NULL OR locked_until <= ?);
                     SELECT failures, locked_until FROM password_failures WHERE key = ?;
                     COMMIT",
                )
                .bind(key)
                .bind(ts(now))
                .bind(ts(now + lock_s))
                .bind(key)
                .bind(i64::from(max))
                .bind(ts(now))
                .bind(key),
            )
            .await?;
        let row = rows.first().ok_or(sqlx::Error::RowNotFound)?;
        Ok(FailureState {
            failures: u32::try_from(row.try_get::<i64, _>(0)?).unwrap_or(u32::MAX),
            locked_until: row.try_get::<Option<i64>, _>(1)?.map(un),
        })
    }

    async fn create_auth_session(&self, token_hash: &[u8], s: &AuthSession) -> StoreResult<i64> {
        let id = sqlx::query_scalar(
            "INSERT INTO auth_sessions (token_hash, client_id, code_challenge, identifier, user_id, device_recognised, step,
                    primary_method, device_verified, second_factor_choice, second_factor, code_id, ip, user_agent,
                    created_at, expires_at, acr)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, strftime('%s','now'), ?, ?) RETURNING id",
        )
        .bind(token_hash)
        .bind(&s.client_id)
        .bind(&s.code_challenge)
        .bind(&s.identifier)
        .bind(s.user_id)
        .bind(s.device_recognised)
        .bind(&s.step)
        .bind(&s.primary_method)
        .bind(s.device_verified)
        .bind(&s.second_factor_choice)
        .bind(&s.second_factor)
        .bind(s.code_id)
        .bind(&s.ip)
        .bind(&s.user_agent)
        .bind(ts(s.expires_at))
        .bind(s.acr_mfa.then_some("mfa"))
        .fetch_one(&mut *self.write().await?)
        .await?;
        Ok(id)
    }

    async fn auth_session(
        &self,
        token_hash: &[u8],
        now: u64,
    ) -> StoreResult<Option<(AuthSession, Option<User>)>> {
        let row = sqlx::query(
            "SELECT a.id, a.client_id, a.code_challenge, a.identifier, a.user_id, a.device_recognised, a.step,
                    a.primary_method, a.device_verified, a.second_factor_choice, a.second_factor, a.code_id, a.ip,
                    a.user_agent, a.expires_at, u.id, u.email, u.phone, u.name, u.password_hash, a.acr
             FROM auth_sessions a LEFT JOIN users u ON u.id = a.user_id
             WHERE a.token_hash = ? AND a.completed_at IS NULL AND a.expires_at > ?",
        )
        .bind(token_hash)
        .bind(ts(now))
        .fetch_optional(&mut *self.read().await?)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let user = match r.try_get::<Option<i64>, _>(15)? {
            Some(id) => Some(User {
                id,
                email: r.try_get(16)?,
                phone: r.try_get(17)?,
                name: r.try_get(18)?,
                password_hash: r.try_get(19)?,
            }),
            None => None,
        };
        let session = AuthSession {
            id: r.try_get(0)?,
            client_id: r.try_get(1)?,
            code_challenge: r.try_get(2)?,
            identifier: r.try_get(3)?,
            user_id: r.try_get(4)?,
            device_recognised: r.try_get(5)?,
            step: r.try_get(6)?,
            primary_method: r.try_get(7)?,
            device_verified: r.try_get(8)?,
            second_factor_choice: r.try_get(9)?,
            second_factor: r.try_get(10)?,
            code_id: r.try_get(11)?,
            ip: r.try_get(12)?,
            user_agent: r.try_get(13)?,
            expires_at: un(r.try_get(14)?),
            acr_mfa: r.try_get::<Option<String>, _>(20)?.as_deref() == Some("mfa"),
        };
        Ok(Some((session, user)))
    }

    async fn update_auth_session(&self, s: &AuthSession) -> StoreResult<()> {
        sqlx::query(
            "UPDATE auth_sessions SET step = ?, primary_method = ?, device_verified = ?, second_factor_choice = ?,
                    second_factor = ?, code_id = ? WHERE id = ?",
        )
        .bind(&s.step)
        .bind(&s.primary_method)
        .bind(s.device_verified)
        .bind(&s.second_factor_choice)
        .bind(&s.second_factor)
        .bind(s.code_id)
        .bind(s.id)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(())
    }

    async fn issue_code(
        &self,
        issue: IssueCode,
        hash_of: Box<dyn FnOnce(i64) -> Vec<u8> + Send>,
        message: Option<OutboxMessage>,
    ) -> StoreResult<IssueOutcome> {
        let mut tx = self.write_tx().await?;
        let window_start = issue.now.saturating_sub(issue.send_window_s);
        // The sends are counted in SQL (one row back, however many the window holds). The new
        // code's id is known before the insert (the writer is alone in its transaction), so its
        // hash goes in with it.
        let rows = tx
            .run(
                sqlx::query(
                    "BEGIN IMMEDIATE;
                     SELECT COUNT(*), MIN(created_at), (SELECT COALESCE(MAX(id), 0) + 1 FROM codes)
                     FROM codes WHERE key = ? AND created_at > ?",
                )
                .bind(&issue.key)
                .bind(ts(window_start)),
            )
            .await?;
        let row = rows.first().ok_or(sqlx::Error::RowNotFound)?;
        let (sends, oldest, id): (i64, Option<i64>, i64) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        if sends >= i64::from(issue.max_sends) {
            tx.rollback().await?;
            let oldest = oldest.map(un).unwrap_or(issue.now);
            return Ok(IssueOutcome::Capped {
                retry_after: (oldest + issue.send_window_s).saturating_sub(issue.now),
            });
        }
        let m = message.as_ref();
        let channel = m.map(|m| m.channel.as_str());
        tx.finish(
            sqlx::query(
                "UPDATE codes SET dead = 1 WHERE key = ? AND purpose = ? AND dead = 0;
                 INSERT INTO codes (id, key, purpose, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?);
                 INSERT INTO outbox (channel, recipient, subject, body, created_at)
                     SELECT ?, ?, ?, ?, ? WHERE ? IS NOT NULL;
                 COMMIT",
            )
            .bind(&issue.key)
            .bind(&issue.purpose)
            .bind(id)
            .bind(&issue.key)
            .bind(&issue.purpose)
            .bind(hash_of(id))
            .bind(ts(issue.now))
            .bind(ts(issue.expires_at))
            .bind(channel)
            .bind(m.map(|m| m.recipient.as_str()))
            .bind(m.map(|m| m.subject.as_str()))
            .bind(m.map(|m| self.seal_body(&m.recipient, m.body.expose())))
            .bind(ts(issue.now))
            .bind(channel),
        )
        .await?;
        Ok(IssueOutcome::Issued { code_id: id })
    }

    async fn latest_code(&self, key: &str, purpose: &str, now: u64) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM codes WHERE key = ? AND purpose = ? AND dead = 0 AND expires_at > ? ORDER BY id DESC LIMIT 1",
        )
        .bind(key)
        .bind(purpose)
        .bind(ts(now))
        .fetch_optional(&mut *self.read().await?)
        .await?)
    }

    async fn attempt_code(
        &self,
        code_id: i64,
        candidate_hash: &[u8],
        now: u64,
        max_attempts: u32,
    ) -> StoreResult<CodeOutcome> {
        let mut tx = self.write_tx().await?;
        let rows = tx
            .run(
                sqlx::query(
                    "BEGIN IMMEDIATE; SELECT hash, expires_at, attempts, dead FROM codes WHERE id = ?",
                )
                .bind(code_id),
            )
            .await?;
        let Some(row) = rows.first() else {
            tx.rollback().await?;
            return Ok(CodeOutcome::Dead);
        };
        let (hash, expires_at, attempts, dead): (Vec<u8>, i64, i64, i64) = (
            row.try_get(0)?,
            row.try_get(1)?,
            row.try_get(2)?,
            row.try_get(3)?,
        );
        let attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
        if dead != 0 || un(expires_at) <= now || attempts >= max_attempts {
            tx.rollback().await?;
            return Ok(CodeOutcome::Dead);
        }
        let outcome = if constant_time_eq(&hash, candidate_hash) {
            tx.finish(sqlx::query("UPDATE codes SET dead = 1 WHERE id = ?; COMMIT").bind(code_id))
                .await?;
            CodeOutcome::Accepted
        } else {
            let attempts = attempts + 1;
            tx.finish(
                sqlx::query("UPDATE codes SET attempts = ?, dead = ? WHERE id = ?; COMMIT")
                    .bind(i64::from(attempts))
                    .bind(attempts >= max_attempts)
                    .bind(code_id),
            )
            .await?;
            CodeOutcome::Wrong {
                attempts_left: max_attempts - attempts,
            }
        };
        Ok(outcome)
    }

    async fn last_code_sent_at(&self, key: &str, purpose: &str) -> StoreResult<Option<u64>> {
        let at: Option<i64> =
            sqlx::query_scalar("SELECT MAX(created_at) FROM codes WHERE key = ? AND purpose = ?")
                .bind(key)
                .bind(purpose)
                .fetch_one(&mut *self.read().await?)
                .await?;
        Ok(at.map(un))
    }

    async fn record_sign_in_event(&self, e: SignInEvent) -> StoreResult<()> {
        insert_sign_in_event(&mut *self.write().await?, &e).await
    }

    async fn sign_in_events(&self, user_id: i64, limit: u32) -> StoreResult<Vec<SignInEvent>> {
        let rows: Vec<(i64, i64, String, String, String, String, String, String)> = sqlx::query_as(
            "SELECT user_id, at, kind, method, factors, ip, user_agent, result FROM sign_in_events
             WHERE user_id = ? ORDER BY id DESC LIMIT ?",
        )
        .bind(user_id)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.read().await?)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| SignInEvent {
                user_id: r.0,
                at: un(r.1),
                kind: r.2,
                method: r.3,
                factors: split(&r.4),
                ip: r.5,
                user_agent: r.6,
                result: r.7,
            })
            .collect())
    }

    async fn complete_sign_in(
        &self,
        code: NewAuthorizationCode,
        e: SignInEvent,
    ) -> StoreResult<()> {
        // One trip: the session ends, the code and the history row appear, all or nothing.
        self.write_tx()
            .await?
            .finish(
                sqlx::query(
                    "BEGIN IMMEDIATE;
                     UPDATE auth_sessions SET completed_at = ?, step = 'done' WHERE id = ?;
                     INSERT INTO authorization_codes (hash, auth_session_id, client_id, user_id, code_challenge, method,
                            factors, issue_device_token, ip, user_agent, expires_at)
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);
                     INSERT INTO sign_in_events (user_id, at, kind, method, factors, ip, user_agent, result)
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?);
                     COMMIT",
                )
                .bind(ts(e.at))
                .bind(code.auth_session_id)
                .bind(&code.hash)
                .bind(code.auth_session_id)
                .bind(&code.client_id)
                .bind(code.user_id)
                .bind(&code.code_challenge)
                .bind(&code.method)
                .bind(join(&code.factors))
                .bind(code.issue_device_token)
                .bind(&code.ip)
                .bind(&code.user_agent)
                .bind(ts(code.expires_at))
                .bind(e.user_id)
                .bind(ts(e.at))
                .bind(&e.kind)
                .bind(&e.method)
                .bind(join(&e.factors))
                .bind(&e.ip)
                .bind(&e.user_agent)
                .bind(&e.result),
            )
            .await?;
        Ok(())
    }

    async fn redeem_authorization_code(
        &self,
        r: RedeemRequest,
    ) -> StoreResult<Result<(Session, bool), RedeemError>> {
        let mut tx = self.write_tx().await?;
        let rows = tx
            .run(
                sqlx::query(
                    "BEGIN IMMEDIATE;
                     SELECT client_id, user_id, code_challenge, method, factors, issue_device_token, ip, user_agent,
                            expires_at, used_at, session_id FROM authorization_codes WHERE hash = ?",
                )
                .bind(&r.code_hash),
            )
            .await?;
        let Some(row) = rows.first() else {
            tx.rollback().await?;
            return Ok(Err(RedeemError::Unknown));
        };
        #[allow(clippy::type_complexity)]
        let (
            client_id,
            user_id,
            challenge,
            method,
            factors,
            issue_device,
            ip,
            ua,
            expires_at,
            used_at,
            session_id,
        ): (
            String,
            i64,
            String,
            String,
            String,
            bool,
            String,
            String,
            i64,
            Option<i64>,
            Option<i64>,
        ) = sqlx::FromRow::from_row(row)?;
        if used_at.is_some() {
            // A code presented twice may have leaked: its session goes too (RFC 6749 4.1.2).
            if let Some(session_id) = session_id {
                Self::revoke_session_tx(&mut tx.0.conn, session_id, r.now).await?;
            }
            tx.finish(sqlx::query("COMMIT")).await?;
            return Ok(Err(RedeemError::Reused));
        }
        let failure = if un(expires_at) <= r.now {
            Some(RedeemError::Expired)
        } else if client_id != r.client_id {
            Some(RedeemError::ClientMismatch)
        } else if !constant_time_eq(challenge.as_bytes(), r.challenge_of_verifier.as_bytes()) {
            Some(RedeemError::VerifierMismatch)
        } else {
            None
        };
        if let Some(failure) = failure {
            // Any presentation uses the code up, right or wrong.
            tx.finish(
                sqlx::query("UPDATE authorization_codes SET used_at = ? WHERE hash = ?; COMMIT")
                    .bind(ts(r.now))
                    .bind(&r.code_hash),
            )
            .await?;
            return Ok(Err(failure));
        }
        let tokens = r.tokens;
        let device_token = tokens.device_token.filter(|_| issue_device);
        let device_hash = device_token.as_ref().map(|(hash, _)| hash);
        // One trip: the session, the code used up and pointing at it, and its tokens.
        let rows = tx
            .finish(
                sqlx::query(
                    "INSERT INTO sessions (user_id, client_id, method, factors, ip, user_agent, created_at, auth_time)
                         VALUES (?, ?, ?, ?, ?, ?, ?, (SELECT a.completed_at FROM authorization_codes c
                             JOIN auth_sessions a ON a.id = c.auth_session_id WHERE c.hash = ?)) RETURNING id;
                     UPDATE authorization_codes SET used_at = ?, session_id = last_insert_rowid() WHERE hash = ?;
                     INSERT INTO access_tokens (hash, session_id, expires_at)
                         SELECT ?, session_id, ? FROM authorization_codes WHERE hash = ?;
                     INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at)
                         SELECT ?, session_id, ?, ? FROM authorization_codes WHERE hash = ?;
                     INSERT INTO device_tokens (hash, user_id, created_at, expires_at)
                         SELECT ?, ?, ?, ? WHERE ? IS NOT NULL;
                     COMMIT",
                )
                .bind(user_id)
                .bind(&client_id)
                .bind(&method)
                .bind(&factors)
                .bind(&ip)
                .bind(&ua)
                .bind(ts(r.now))
                .bind(&r.code_hash)
                .bind(ts(r.now))
                .bind(&r.code_hash)
                .bind(&tokens.access_hash)
                .bind(ts(tokens.access_expires_at))
                .bind(&r.code_hash)
                .bind(&tokens.refresh_hash)
                .bind(ts(r.now))
                .bind(ts(tokens.refresh_expires_at))
                .bind(&r.code_hash)
                .bind(device_hash)
                .bind(user_id)
                .bind(ts(r.now))
                .bind(device_token.as_ref().map(|(_, expires_at)| ts(*expires_at)))
                .bind(device_hash),
            )
            .await?;
        let session_id: i64 = rows.first().ok_or(sqlx::Error::RowNotFound)?.try_get(0)?;
        Ok(Ok((
            Session {
                id: session_id,
                user_id,
                client_id,
                created_at: r.now,
            },
            // As a later look-up would see it: stored and not yet expired.
            device_token.is_some_and(|(_, expires_at)| expires_at > r.now),
        )))
    }

    async fn rotate_refresh_token(
        &self,
        old_hash: &[u8],
        client_id: &str,
        now: u64,
        tokens: NewTokens,
    ) -> StoreResult<Result<Session, RefreshError>> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let row: Option<(i64, i64, Option<i64>, i64, i64, String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT r.session_id, r.expires_at, r.rotated_at, s.id, s.user_id, s.client_id, s.created_at, s.revoked_at
             FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id WHERE r.hash = ?",
        )
        .bind(old_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((
            session_id,
            expires_at,
            rotated_at,
            _,
            user_id,
            session_client,
            created_at,
            revoked_at,
        )) = row
        else {
            return Ok(Err(RefreshError::Unknown));
        };
        if revoked_at.is_some() {
            return Ok(Err(RefreshError::Revoked));
        }
        if session_client != client_id {
            return Ok(Err(RefreshError::ClientMismatch));
        }
        if rotated_at.is_some() {
            Self::revoke_session_tx(&mut tx, session_id, now).await?;
            tx.commit().await?;
            return Ok(Err(RefreshError::Reused));
        }
        if un(expires_at) <= now {
            return Ok(Err(RefreshError::Expired));
        }
        sqlx::query("UPDATE refresh_tokens SET rotated_at = ? WHERE hash = ?")
            .bind(ts(now))
            .bind(old_hash)
            .execute(&mut *tx)
            .await?;
        // The access tokens of the previous generation end with the rotation.
        sqlx::query("DELETE FROM access_tokens WHERE session_id = ?")
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
        let mut tokens = tokens;
        tokens.device_token = None;
        Self::insert_tokens(&mut tx, session_id, user_id, now, &tokens).await?;
        tx.commit().await?;
        Ok(Ok(Session {
            id: session_id,
            user_id,
            client_id: session_client,
            created_at: un(created_at),
        }))
    }

    async fn session_for_access_token(
        &self,
        hash: &[u8],
        now: u64,
    ) -> StoreResult<Option<Session>> {
        let row: Option<(i64, i64, String, i64)> = sqlx::query_as(
            "SELECT s.id, s.user_id, s.client_id, s.created_at FROM access_tokens a JOIN sessions s ON s.id = a.session_id
             WHERE a.hash = ? AND a.expires_at > ? AND s.revoked_at IS NULL",
        )
        .bind(hash)
        .bind(ts(now))
        .fetch_optional(&mut *self.read().await?)
        .await?;
        Ok(row.map(session_of))
    }

    async fn revoke_token(&self, hash: &[u8], now: u64) -> StoreResult<bool> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let session: Option<i64> = sqlx::query_scalar(
            "SELECT session_id FROM refresh_tokens WHERE hash = ? UNION ALL SELECT session_id FROM access_tokens WHERE hash = ?",
        )
        .bind(hash)
        .bind(hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(session_id) = session else {
            return Ok(false);
        };
        Self::revoke_session_tx(&mut tx, session_id, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn revoke_session(&self, session_id: i64, now: u64) -> StoreResult<()> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        Self::revoke_session_tx(&mut tx, session_id, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn revoke_all_sessions(&self, user_id: i64, now: u64) -> StoreResult<u64> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM sessions WHERE user_id = ? AND revoked_at IS NULL")
                .bind(user_id)
                .fetch_all(&mut *tx)
                .await?;
        for id in &ids {
            Self::revoke_session_tx(&mut tx, *id, now).await?;
        }
        tx.commit().await?;
        Ok(ids.len() as u64)
    }

    async fn device_token_valid(&self, user_id: i64, hash: &[u8], now: u64) -> StoreResult<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM device_tokens WHERE hash = ? AND user_id = ? AND expires_at > ?",
        )
        .bind(hash)
        .bind(user_id)
        .bind(ts(now))
        .fetch_optional(&mut *self.read().await?)
        .await?;
        Ok(found.is_some())
    }

    async fn revoke_unused_authorization_codes(&self, user_id: i64, now: u64) -> StoreResult<u64> {
        let tx = self.write_tx().await?;
        let rows = tx
            .finish(
                sqlx::query(
                    "BEGIN IMMEDIATE;
                     INSERT OR IGNORE INTO revoked_authorization_codes (hash, revoked_at)
                         SELECT hash, ? FROM authorization_codes WHERE user_id = ? AND used_at IS NULL AND expires_at > ?;
                     SELECT changes();
                     UPDATE authorization_codes SET used_at = ? WHERE user_id = ? AND used_at IS NULL;
                     COMMIT",
                )
                .bind(ts(now))
                .bind(user_id)
                .bind(ts(now))
                .bind(ts(now))
                .bind(user_id),
            )
            .await?;
        let revoked: i64 = match rows.first() {
            Some(row) => row.try_get(0)?,
            None => 0,
        };
        Ok(un(revoked))
    }

    async fn authorization_code_revoked(&self, code_hash: &[u8]) -> StoreResult<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM revoked_authorization_codes WHERE hash = ?")
                .bind(code_hash)
                .fetch_optional(&mut *self.read().await?)
                .await?;
        Ok(found.is_some())
    }

    async fn refresh_token_session_start(&self, hash: &[u8]) -> StoreResult<Option<u64>> {
        let started: Option<i64> = sqlx::query_scalar(
            "SELECT s.created_at FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id WHERE r.hash = ?",
        )
        .bind(hash)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        Ok(started.map(un))
    }

    async fn token_client(&self, hash: &[u8]) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT s.client_id FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id WHERE r.hash = ?
             UNION ALL
             SELECT s.client_id FROM access_tokens a JOIN sessions s ON s.id = a.session_id WHERE a.hash = ?",
        )
        .bind(hash)
        .bind(hash)
        .fetch_optional(&mut *self.read().await?)
        .await?)
    }

    async fn totp(&self, user_id: i64) -> StoreResult<Option<TotpCredential>> {
        let row: Option<(Vec<u8>, bool, Option<i64>, Option<Vec<u8>>, bool)> = sqlx::query_as(
            "SELECT secret, confirmed, last_step, pending_secret, suspended_at IS NOT NULL FROM totp_credentials WHERE user_id = ?",
        )
        .bind(user_id)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        let Some((secret, confirmed, last_step, pending, suspended)) = row else {
            return Ok(None);
        };
        Ok(Some(TotpCredential {
            secret: self.open_totp(user_id, secret)?,
            confirmed,
            last_step: last_step.map(un),
            pending: pending.map(|p| self.open_totp(user_id, p)).transpose()?,
            suspended,
        }))
    }

    async fn second_factors(&self, user_id: i64) -> StoreResult<SecondFactors> {
        let (totp, backup_codes_left): (bool, i64) = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM totp_credentials WHERE user_id = ?1 AND confirmed = 1 AND suspended_at IS NULL),
                    (SELECT COUNT(*) FROM backup_codes WHERE user_id = ?1 AND used_at IS NULL)",
        )
        .bind(user_id)
        .fetch_one(&mut *self.read().await?)
        .await?;
        Ok(SecondFactors {
            totp,
            backup_codes_left: u32::try_from(backup_codes_left).unwrap_or(0),
        })
    }

    async fn start_totp(&self, user_id: i64, secret: &[u8], now: u64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO totp_credentials (user_id, secret, pending_secret, confirmed, created_at) VALUES (?, x'', ?, 0, ?)
             ON CONFLICT(user_id) DO UPDATE SET pending_secret = excluded.pending_secret",
        )
        .bind(user_id)
        .bind(self.sealer.seal(&totp_associated(user_id), secret))
        .bind(ts(now))
        .execute(&mut *self.write().await?)
        .await?;
        Ok(())
    }

    async fn confirm_totp(&self, user_id: i64, step: u64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE totp_credentials SET secret = pending_secret, pending_secret = NULL, confirmed = 1, last_step = ?
             WHERE user_id = ? AND pending_secret IS NOT NULL",
        )
        .bind(ts(step))
        .bind(user_id)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn accept_totp_step(&self, user_id: i64, step: u64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE totp_credentials SET last_step = ? WHERE user_id = ? AND confirmed = 1 AND suspended_at IS NULL
             AND (last_step IS NULL OR last_step < ?)",
        )
        .bind(ts(step))
        .bind(user_id)
        .bind(ts(step))
        .execute(&mut *self.write().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn seed_totp(&self, user_id: i64, secret: &[u8], now: u64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO totp_credentials (user_id, secret, confirmed, created_at) VALUES (?, ?, 1, ?)
             ON CONFLICT(user_id) DO NOTHING",
        )
        .bind(user_id)
        .bind(self.sealer.seal(&totp_associated(user_id), secret))
        .bind(ts(now))
        .execute(&mut *self.write().await?)
        .await?;
        Ok(())
    }

    async fn replace_backup_codes(
        &self,
        user_id: i64,
        hashes: Vec<Vec<u8>>,
        now: u64,
    ) -> StoreResult<()> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        write_backup_codes(&mut tx, user_id, hashes, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn backup_codes_left(&self, user_id: i64) -> StoreResult<u32> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM backup_codes WHERE user_id = ? AND used_at IS NULL",
        )
        .bind(user_id)
        .fetch_one(&mut *self.read().await?)
        .await?;
        Ok(u32::try_from(n).unwrap_or(0))
    }

    async fn use_backup_code(&self, user_id: i64, hash: &[u8], now: u64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE backup_codes SET used_at = ? WHERE user_id = ? AND hash = ? AND used_at IS NULL",
        )
        .bind(ts(now))
        .bind(user_id)
        .bind(hash)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn pending_messages(&self, limit: u32) -> StoreResult<Vec<OutboxRecord>> {
        self.select_messages(
            "WHERE sent_at IS NULL AND attempts < 5 ORDER BY id LIMIT ?",
            Some(limit),
        )
        .await
    }

    async fn mark_messages_sent(&self, ids: &[i64], now: u64, keep_body: bool) -> StoreResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        // One statement for the whole batch: `?2` is a JSON array of ids.
        let sql = if keep_body {
            "UPDATE outbox SET sent_at = ?1, attempts = attempts + 1 WHERE id IN (SELECT value FROM json_each(?2))"
        } else {
            "DELETE FROM outbox WHERE id IN (SELECT value FROM json_each(?2)) AND ?1 IS NOT NULL"
        };
        let ids = serde_json::to_string(ids).map_err(|e| StoreError(e.to_string()))?;
        sqlx::query(sql)
            .bind(ts(now))
            .bind(ids)
            .execute(&mut *self.write().await?)
            .await?;
        Ok(())
    }

    async fn expire_messages(&self, created_before: u64) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM outbox WHERE created_at < ? OR (sent_at IS NULL AND attempts >= 5)",
        )
        .bind(ts(created_before))
        .execute(&mut *self.write().await?)
        .await?;
        Ok(done.rows_affected())
    }

    async fn mark_message_failed(&self, id: i64) -> StoreResult<()> {
        sqlx::query("UPDATE outbox SET attempts = attempts + 1 WHERE id = ?")
            .bind(id)
            .execute(&mut *self.write().await?)
            .await?;
        Ok(())
    }

    async fn messages(
        &self,
        recipient: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<OutboxRecord>> {
        let rows: Vec<MessageRow> = sqlx::query_as(
            "SELECT * FROM (SELECT id, channel, recipient, subject, body, created_at, sent_at, attempts FROM outbox
             WHERE ?1 IS NULL OR recipient = ?1 COLLATE NOCASE ORDER BY id DESC LIMIT ?2) ORDER BY id",
        )
        .bind(recipient)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.read().await?)
        .await?;
        Ok(rows.into_iter().map(|r| self.record_of(r)).collect())
    }
}

impl SqliteStore {
    async fn select_messages(
        &self,
        tail: &str,
        limit: Option<u32>,
    ) -> StoreResult<Vec<OutboxRecord>> {
        let sql = format!(
            "SELECT id, channel, recipient, subject, body, created_at, sent_at, attempts FROM outbox {tail}"
        );
        let mut query = sqlx::query_as::<_, MessageRow>(&sql);
        if let Some(limit) = limit {
            query = query.bind(i64::from(limit));
        }
        let rows = query.fetch_all(&mut *self.read().await?).await?;
        Ok(rows.into_iter().map(|r| self.record_of(r)).collect())
    }
}

type MessageRow = (i64, String, String, String, String, i64, Option<i64>, i64);

impl SqliteStore {
    /// A message row with its body opened (a body that is not sealed is passed through).
    fn record_of(&self, r: MessageRow) -> OutboxRecord {
        let body = if r.4.starts_with(crate::keys::TEXT_PREFIX) {
            match self.sealer.open_text(&outbox_associated(&r.2), &r.4) {
                Ok(body) => body.to_string(),
                Err(error) => {
                    tracing::warn!(id = r.0, %error, "outbox: cannot open a message body");
                    String::new()
                }
            }
        } else {
            r.4
        };
        OutboxRecord {
            id: r.0,
            channel: r.1,
            recipient: r.2,
            subject: r.3,
            body: SecretString::new(body),
            created_at: un(r.5),
            sent_at: r.6.map(un),
            attempts: u32::try_from(r.7).unwrap_or(0),
        }
    }
}

/// One history row, on the writer or inside a caller's transaction.
async fn insert_sign_in_event<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Sqlite>,
    e: &SignInEvent,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO sign_in_events (user_id, at, kind, method, factors, ip, user_agent, result) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(e.user_id)
    .bind(ts(e.at))
    .bind(&e.kind)
    .bind(&e.method)
    .bind(join(&e.factors))
    .bind(&e.ip)
    .bind(&e.user_agent)
    .bind(&e.result)
    .execute(db)
    .await?;
    Ok(())
}

/// Replaces the user's backup codes with `hashes`, inside `tx`.
pub(super) async fn write_backup_codes(
    tx: &mut Tx<'_>,
    user_id: i64,
    hashes: Vec<Vec<u8>>,
    now: u64,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM backup_codes WHERE user_id = ?")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    for hash in hashes {
        sqlx::query(
            "INSERT OR IGNORE INTO backup_codes (user_id, hash, created_at) VALUES (?, ?, ?)",
        )
        .bind(user_id)
        .bind(hash)
        .bind(ts(now))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn reserve(store: &SqliteStore, now: u64) -> Attempt {
        store.reserve_attempt("user:1", now, 3, 900).await.unwrap()
    }

    #[tokio::test]
    async fn attempts_are_counted_before_the_check_and_wait_while_in_flight() {
        let store = SqliteStore::open("sqlite::memory:").await.unwrap();
        for failures in 1..=3 {
            assert!(
                matches!(reserve(&store, 1_000).await, Attempt::Reserved(s) if s.failures == failures)
            );
        }
        // All three are being checked: the fourth waits, nothing is locked yet.
        assert!(matches!(reserve(&store, 1_000).await, Attempt::Busy));
        // One proves wrong: the run is at the limit, so it locks.
        let state = store
            .settle_wrong_attempt("user:1", 1_001, 3, 900)
            .await
            .unwrap();
        assert_eq!((state.failures, state.locked_until), (3, Some(1_901)));
        assert!(matches!(
            reserve(&store, 1_002).await,
            Attempt::Locked { until: 1_901 }
        ));
        // Another one of the three proves right: the run ends, the lock with it.
        store.clear_password_failures("user:1").await.unwrap();
        assert!(matches!(reserve(&store, 1_003).await, Attempt::Reserved(s) if s.failures == 1));
    }

    #[tokio::test]
    async fn reservations_never_settled_count_as_wrong_after_the_timeout() {
        let store = SqliteStore::open("sqlite::memory:").await.unwrap();
        for _ in 0..3 {
            assert!(matches!(reserve(&store, 1_000).await, Attempt::Reserved(_)));
        }
        // The requests were cancelled: once they cannot still be running, they lock.
        let later = 1_000 + RESERVATION_TIMEOUT_S - 1;
        assert!(matches!(reserve(&store, later).await, Attempt::Busy));
        let later = 1_000 + RESERVATION_TIMEOUT_S;
        assert!(
            matches!(reserve(&store, later).await, Attempt::Locked { until } if until == later + 900)
        );
        // The lock runs out: a fresh run.
        assert!(
            matches!(reserve(&store, later + 900).await, Attempt::Reserved(s) if s.failures == 1)
        );
    }

    #[tokio::test]
    async fn parallel_reservations_never_exceed_the_limit() {
        let store = std::sync::Arc::new(SqliteStore::open("sqlite::memory:").await.unwrap());
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.reserve_attempt("user:7", 1_000, 10, 900).await })
            })
            .collect();
        let mut reserved = 0;
        for task in tasks {
            if matches!(task.await.unwrap().unwrap(), Attempt::Reserved(_)) {
                reserved += 1;
            }
        }
        assert_eq!(reserved, 10);
    }
}
