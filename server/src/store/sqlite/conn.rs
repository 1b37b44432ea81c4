//! The store's connections: one connection used by one task at a time ([`Conn`]) and a raw
//! transaction on the writer written as plain SQL batches ([`RawTx`]).

use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::Connection;
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

use super::*;

/// One connection (with its own sqlx worker thread), used by one task at a time. Not a sqlx
/// pool: a pool pings the worker after every release, which doubles the thread switches per
/// statement. A dropped sqlx transaction is rolled back by sqlx before the next command runs; an
/// unfinished [`RawTx`] is rolled back here before the connection is used again.
pub(super) struct Conn(pub(super) Mutex<Option<Link>>);

pub(super) struct Link {
    pub(super) conn: SqliteConnection,
    /// A [`RawTx`] began and did not finish (an error, an early return, a cancelled request).
    pub(super) open_tx: bool,
}

pub(super) type ConnGuard<'a> = MappedMutexGuard<'a, SqliteConnection>;

impl Conn {
    pub(super) fn new(conn: SqliteConnection) -> Conn {
        Conn(Mutex::new(Some(Link {
            conn,
            open_tx: false,
        })))
    }

    fn closed() -> StoreError {
        StoreError("the database is closed".into())
    }

    pub(super) fn map(guard: MutexGuard<'_, Option<Link>>) -> StoreResult<ConnGuard<'_>> {
        MutexGuard::try_map(guard, |link| link.as_mut().map(|l| &mut l.conn))
            .map_err(|_| Self::closed())
    }

    /// The connection, with any unfinished raw transaction rolled back.
    pub(super) async fn settled(&self) -> StoreResult<MappedMutexGuard<'_, Link>> {
        let guard = self.0.lock().await;
        let mut link = MutexGuard::try_map(guard, Option::as_mut).map_err(|_| Self::closed())?;
        if link.open_tx {
            // Harmless when the transaction never began.
            let _ = sqlx::query("ROLLBACK").execute(&mut link.conn).await;
            link.open_tx = false;
        }
        Ok(link)
    }

    pub(super) async fn lock(&self) -> StoreResult<ConnGuard<'_>> {
        Ok(MappedMutexGuard::map(self.settled().await?, |l| {
            &mut l.conn
        }))
    }

    pub(super) async fn close(&self) {
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
pub(super) struct RawTx<'a>(pub(super) MappedMutexGuard<'a, Link>);

impl RawTx<'_> {
    /// Runs a batch inside the transaction; returns the rows of all its statements.
    pub(super) async fn run(&mut self, batch: SqlBatch<'_>) -> StoreResult<Vec<SqliteRow>> {
        Ok(batch.fetch_all(&mut self.0.conn).await?)
    }

    /// Runs the last batch, which ends with `COMMIT` (or `ROLLBACK`); returns its rows.
    pub(super) async fn finish(mut self, batch: SqlBatch<'_>) -> StoreResult<Vec<SqliteRow>> {
        let rows = self.run(batch).await?;
        self.0.open_tx = false;
        Ok(rows)
    }

    pub(super) async fn rollback(self) -> StoreResult<()> {
        self.finish(sqlx::query("ROLLBACK")).await.map(drop)
    }
}
