//! [`Store`] on SQLite: WAL, foreign keys, the schema applied in one transaction on first open.
//! All writes go through one connection (no `SQLITE_BUSY` between writers); reads use a few more
//! read-only ones (in WAL they see every committed write), so they never wait behind a write.
//!
//! This module opens the store and hands out its connections; `conn` holds the connections and
//! raw transactions, `schema` the migrations, `sealing` the secrets sealed at rest, and one file
//! per store trait: `accounts` ([`Store`]), `signin`, `tokens`, `outbox`, `devices`, `push`,
//! `security`, `credentials`, `orgs`.

use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Sqlite, Transaction};

use super::*;
use crate::keys::{Sealer, ServerKey};

mod accounts;
mod conn;
mod credentials;
mod devices;
mod federation;
mod orgs;
mod outbox;
mod push;
mod schema;
mod sealing;
mod security;
mod signin;
mod tokens;

use accounts::write_backup_codes;
use conn::{Conn, ConnGuard, RawTx};

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

type SqlBatch<'q> = sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

/// A stored scope; NULL (rows from before schema version 9) is the native default.
fn scope_or_default(scope: Option<String>) -> String {
    scope.unwrap_or_else(|| authcore_protocol::oidc::scope::NATIVE_DEFAULT.to_owned())
}

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
}

#[cfg(test)]
mod tests;
