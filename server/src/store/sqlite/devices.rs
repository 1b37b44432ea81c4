//! [`DeviceStore`] on SQLite (schema_v2.sql): enrollments, devices and their request nonces,
//! enrollment skips. Multi-row changes run in one transaction on the writer; reads use the
//! reader pool (WAL: a read sees every commit made before it started, and waiters are woken only
//! after the commit).

use async_trait::async_trait;
use sqlx::{Connection, Row};
use tokio::sync::oneshot;

use super::super::devices::*;
use super::super::{StoreError, StoreResult};
use super::push::insert_push;
use super::{ts, un, SqliteStore};

pub(super) const DEVICE_COLUMNS: &str =
    "SELECT id, user_id, public_key, display_name, platform, push_token IS NOT NULL,
    user_verification, CASE WHEN suspended_at IS NOT NULL THEN 'suspended' ELSE state END, created_at,
    activated_at, last_seen_at, attested, protocol_version FROM devices";

pub(super) fn device_of(r: &sqlx::sqlite::SqliteRow) -> Result<Device, sqlx::Error> {
    Ok(Device {
        id: r.try_get(0)?,
        user_id: r.try_get(1)?,
        public_key: r.try_get(2)?,
        display_name: r.try_get(3)?,
        platform: r.try_get(4)?,
        has_push_token: r.try_get(5)?,
        user_verification: r.try_get(6)?,
        state: r.try_get(7)?,
        created_at: un(r.try_get(8)?),
        activated_at: r.try_get::<Option<i64>, _>(9)?.map(un),
        last_seen_at: r.try_get::<Option<i64>, _>(10)?.map(un),
        attested: r.try_get(11)?,
        protocol_version: r.try_get::<i64, _>(12)?.clamp(1, i64::from(u32::MAX)) as u32,
    })
}

const ENROLLMENT_COLUMNS: &str =
    "SELECT id, user_id, auth_session_id, created_at, expires_at, used_at, device_id,
    test_request_id, completed_at, failed_at FROM enrollments";

fn enrollment_of(r: &sqlx::sqlite::SqliteRow) -> Result<Enrollment, sqlx::Error> {
    Ok(Enrollment {
        id: r.try_get(0)?,
        user_id: r.try_get(1)?,
        auth_session_id: r.try_get(2)?,
        created_at: un(r.try_get(3)?),
        expires_at: un(r.try_get(4)?),
        used_at: r.try_get::<Option<i64>, _>(5)?.map(un),
        device_id: r.try_get(6)?,
        test_request_id: r.try_get(7)?,
        completed_at: r.try_get::<Option<i64>, _>(8)?.map(un),
        failed_at: r.try_get::<Option<i64>, _>(9)?.map(un),
    })
}

/// Nonces of signed device requests are written in groups: a request queues its nonce and takes
/// the writer; the holder writes every nonce queued by then in one transaction (insert, the
/// devices' `last_seen_at`, commit) and answers each request. A nonce counts as fresh only once
/// that transaction committed, exactly as when each request wrote its own, so a restart never
/// forgets a nonce whose request was accepted; under load one commit serves many requests.
#[derive(Default)]
pub(super) struct NonceQueue(std::sync::Mutex<Vec<NonceUse>>);

impl NonceQueue {
    fn queue(&self) -> std::sync::MutexGuard<'_, Vec<NonceUse>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

pub(super) struct NonceUse {
    device_id: String,
    nonce: String,
    expires_at: u64,
    now: u64,
    protocol_version: u32,
    reply: oneshot::Sender<StoreResult<bool>>,
}

/// At most this many nonces in one transaction (3 parameters each in one statement, 3 more in
/// each `last_seen_at` update: far below SQLite's parameter limit).
const MAX_NONCE_BATCH: usize = 128;

async fn write_nonces(tx: super::RawTx<'_>, batch: Vec<NonceUse>) -> StoreResult<()> {
    // Expired nonces go now and then (all devices at once, by the expiry index), not on every
    // request.
    let sweep = crate::secrets::random_bytes(1)[0] == 0;
    let mut sql = String::from("BEGIN IMMEDIATE;");
    if sweep {
        sql.push_str("DELETE FROM device_nonces WHERE expires_at <= ?;");
    }
    sql.push_str("INSERT INTO device_nonces (device_id, nonce, expires_at) VALUES ");
    for i in 0..batch.len() {
        sql.push_str(if i == 0 { "(?, ?, ?)" } else { ", (?, ?, ?)" });
    }
    sql.push_str(" ON CONFLICT DO NOTHING RETURNING device_id, nonce;");
    for _ in &batch {
        sql.push_str("UPDATE devices SET last_seen_at = ?, protocol_version = ? WHERE id = ?;");
    }
    sql.push_str("COMMIT");
    let mut q = sqlx::query(&sql);
    if sweep {
        q = q.bind(ts(batch.iter().map(|u| u.now).min().unwrap_or(0)));
    }
    for u in &batch {
        q = q.bind(&u.device_id).bind(&u.nonce).bind(ts(u.expires_at));
    }
    for u in &batch {
        q = q
            .bind(ts(u.now))
            .bind(i64::from(u.protocol_version))
            .bind(&u.device_id);
    }
    let rows = match tx.finish(q).await {
        Ok(rows) => rows,
        Err(error) => {
            for u in batch {
                let _ = u.reply.send(Err(StoreError(error.0.clone())));
            }
            return Err(error);
        }
    };
    let mut inserted = std::collections::HashSet::new();
    for row in &rows {
        inserted.insert((row.try_get::<String, _>(0)?, row.try_get::<String, _>(1)?));
    }
    for u in batch {
        // The same nonce twice in one batch: the first request has it, the second is a replay.
        let fresh = inserted.remove(&(u.device_id, u.nonce));
        let _ = u.reply.send(Ok(fresh));
    }
    Ok(())
}

#[async_trait]
impl DeviceStore for SqliteStore {
    async fn create_enrollment(&self, e: NewEnrollment) -> StoreResult<i64> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        if let Some(session) = e.auth_session_id {
            sqlx::query(
                "UPDATE enrollments SET failed_at = ? WHERE auth_session_id = ? AND used_at IS NULL AND failed_at IS NULL",
            )
            .bind(ts(e.now))
            .bind(session)
            .execute(&mut *tx)
            .await?;
        }
        let id = sqlx::query_scalar(
            "INSERT INTO enrollments (user_id, code_hash, auth_session_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(e.user_id)
        .bind(&e.code_hash)
        .bind(e.auth_session_id)
        .bind(ts(e.now))
        .bind(ts(e.expires_at))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn enrollment(&self, id: i64) -> StoreResult<Option<Enrollment>> {
        let row = sqlx::query(&format!("{ENROLLMENT_COLUMNS} WHERE id = ?"))
            .bind(id)
            .fetch_optional(&mut *self.read().await?)
            .await?;
        Ok(row.as_ref().map(enrollment_of).transpose()?)
    }

    async fn session_enrollment(&self, auth_session_id: i64) -> StoreResult<Option<Enrollment>> {
        let row = sqlx::query(&format!(
            "{ENROLLMENT_COLUMNS} WHERE auth_session_id = ? ORDER BY id DESC LIMIT 1"
        ))
        .bind(auth_session_id)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        Ok(row.as_ref().map(enrollment_of).transpose()?)
    }

    async fn activate_device(
        &self,
        a: Activation,
        pick: NumberPicker,
    ) -> StoreResult<Result<Activated, ActivationError>> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let row: Option<(i64, i64, i64, Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT id, user_id, expires_at, used_at, failed_at FROM enrollments WHERE code_hash = ?",
        )
        .bind(&a.code_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((enrollment_id, user_id, expires_at, used_at, failed_at)) = row else {
            return Ok(Err(ActivationError::Unknown));
        };
        if used_at.is_some() {
            return Ok(Err(ActivationError::Used));
        }
        if failed_at.is_some() {
            return Ok(Err(ActivationError::Unknown));
        }
        if un(expires_at) <= a.now {
            return Ok(Err(ActivationError::Expired));
        }
        let d = &a.device;
        sqlx::query(
            "INSERT INTO devices (id, user_id, public_key, display_name, platform, push_token, user_verification, attested, protocol_version, state, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
        )
        .bind(&d.id)
        .bind(user_id)
        .bind(&d.public_key)
        .bind(&d.display_name)
        .bind(&d.platform)
        .bind(&d.push_token)
        .bind(d.user_verification)
        .bind(d.attested)
        .bind(i64::from(d.protocol_version))
        .bind(ts(a.now))
        .execute(&mut *tx)
        .await?;
        let mut test = a.test;
        test.user_id = Some(user_id);
        test.device_id = Some(d.id.clone());
        let (number, choices) = pick(&[]);
        let request_id = insert_push(&mut *tx, &test, &number, choices.as_deref()).await?;
        sqlx::query(
            "UPDATE enrollments SET used_at = ?, device_id = ?, test_request_id = ? WHERE id = ?",
        )
        .bind(ts(a.now))
        .bind(&d.id)
        .bind(request_id)
        .bind(enrollment_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(Activated {
            device_id: d.id.clone(),
            user_id,
            enrollment_id,
            test_request_id: request_id,
            test_number: number,
        }))
    }

    async fn device(&self, id: &str) -> StoreResult<Option<Device>> {
        let row = sqlx::query(&format!(
            "{DEVICE_COLUMNS} WHERE id = ? AND removed_at IS NULL"
        ))
        .bind(id)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        Ok(row.as_ref().map(device_of).transpose()?)
    }

    async fn use_device_nonce(
        &self,
        device_id: &str,
        nonce: &str,
        expires_at: u64,
        now: u64,
        protocol_version: u32,
    ) -> StoreResult<bool> {
        let (reply, answer) = oneshot::channel();
        self.nonces.queue().push(NonceUse {
            device_id: device_id.to_owned(),
            nonce: nonce.to_owned(),
            expires_at,
            now,
            protocol_version,
            reply,
        });
        {
            let tx = self.write_tx().await?;
            // Whoever holds the writer writes every nonce queued by then (ours too, unless an
            // earlier holder already did).
            let batch: Vec<NonceUse> = {
                let mut queue = self.nonces.queue();
                let n = queue.len().min(MAX_NONCE_BATCH);
                queue.drain(..n).collect()
            };
            if !batch.is_empty() {
                write_nonces(tx, batch).await?;
            }
        }
        answer
            .await
            .map_err(|_| StoreError("the nonce batch was not written".into()))?
    }

    async fn devices(&self, user_id: i64) -> StoreResult<Vec<Device>> {
        let rows = sqlx::query(&format!(
            "{DEVICE_COLUMNS} WHERE user_id = ? AND removed_at IS NULL ORDER BY created_at, id"
        ))
        .bind(user_id)
        .fetch_all(&mut *self.read().await?)
        .await?;
        Ok(rows.iter().map(device_of).collect::<Result<_, _>>()?)
    }

    async fn has_active_device(&self, user_id: i64, require_uv: bool) -> StoreResult<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM devices WHERE user_id = ? AND state = 'active' AND removed_at IS NULL AND suspended_at IS NULL
             AND (? = 0 OR user_verification = 1) LIMIT 1",
        )
        .bind(user_id)
        .bind(require_uv)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        Ok(found.is_some())
    }

    async fn has_number_matching_device(
        &self,
        user_id: i64,
        min_version: u32,
    ) -> StoreResult<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM devices WHERE user_id = ? AND state = 'active' AND removed_at IS NULL AND suspended_at IS NULL
             AND protocol_version >= ? LIMIT 1",
        )
        .bind(user_id)
        .bind(i64::from(min_version))
        .fetch_optional(&mut *self.read().await?)
        .await?;
        Ok(found.is_some())
    }

    async fn has_passwordless_device(
        &self,
        user_id: i64,
        require_attestation: bool,
    ) -> StoreResult<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM devices WHERE user_id = ? AND state = 'active' AND removed_at IS NULL
             AND user_verification = 1 AND (? = 0 OR attested = 1) AND protocol_version >= ? LIMIT 1",
        )
        .bind(user_id)
        .bind(require_attestation)
        .bind(i64::from(authcore::device_protocol::NUMBER_MATCHING_VERSION))
        .fetch_optional(&mut *self.read().await?)
        .await?;
        Ok(found.is_some())
    }

    async fn update_device(
        &self,
        user_id: i64,
        device_id: &str,
        display_name: Option<String>,
        push_token: Option<Option<String>>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE devices SET display_name = COALESCE(?, display_name),
                    push_token = CASE WHEN ? THEN ? ELSE push_token END
             WHERE id = ? AND user_id = ? AND removed_at IS NULL",
        )
        .bind(display_name)
        .bind(push_token.is_some())
        .bind(push_token.flatten())
        .bind(device_id)
        .bind(user_id)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn push_targets(
        &self,
        user_id: i64,
        device_id: Option<&str>,
    ) -> StoreResult<Vec<PushTarget>> {
        let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, platform, push_token FROM devices
             WHERE user_id = ? AND removed_at IS NULL
               AND (CASE WHEN ? IS NULL THEN state = 'active' AND suspended_at IS NULL ELSE id = ? END)
             ORDER BY created_at, id",
        )
        .bind(user_id)
        .bind(device_id)
        .bind(device_id)
        .fetch_all(&mut *self.read().await?)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(device_id, platform, token)| PushTarget {
                device_id,
                platform,
                push_token: token.map(crate::secrets::SecretString::new),
            })
            .collect())
    }

    async fn clear_push_token(&self, device_id: &str, push_token: &str) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE devices SET push_token = NULL WHERE id = ? AND push_token = ? AND removed_at IS NULL",
        )
        .bind(device_id)
        .bind(push_token)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn enrollment_skips(&self, user_id: i64) -> StoreResult<u32> {
        let skips: Option<i64> =
            sqlx::query_scalar("SELECT skips FROM enrollment_skips WHERE user_id = ?")
                .bind(user_id)
                .fetch_optional(&mut *self.read().await?)
                .await?;
        Ok(skips.map_or(0, |s| u32::try_from(s).unwrap_or(u32::MAX)))
    }

    async fn enrollment_skipped(&self, auth_session_id: i64) -> StoreResult<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM auth_session_skips WHERE auth_session_id = ?")
                .bind(auth_session_id)
                .fetch_optional(&mut *self.read().await?)
                .await?;
        Ok(found.is_some())
    }

    async fn skip_enrollment(
        &self,
        user_id: i64,
        auth_session_id: i64,
        max_skips: u32,
    ) -> StoreResult<Option<u32>> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let used: Option<i64> =
            sqlx::query_scalar("SELECT skips FROM enrollment_skips WHERE user_id = ?")
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
        let used = used.map_or(0, |s| u32::try_from(s).unwrap_or(u32::MAX));
        if used >= max_skips {
            return Ok(None);
        }
        sqlx::query(
            "INSERT INTO enrollment_skips (user_id, skips) VALUES (?, 1)
             ON CONFLICT(user_id) DO UPDATE SET skips = skips + 1",
        )
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT OR IGNORE INTO auth_session_skips (auth_session_id) VALUES (?)")
            .bind(auth_session_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(max_skips - used - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the futures concurrently on this task; their answers in order.
    async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
        let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
        let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
        std::future::poll_fn(|cx| {
            let mut pending = false;
            for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
                if output.is_none() {
                    match future.as_mut().poll(cx) {
                        std::task::Poll::Ready(value) => *output = Some(value),
                        std::task::Poll::Pending => pending = true,
                    }
                }
            }
            if pending {
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(())
            }
        })
        .await;
        outputs.into_iter().map(Option::unwrap).collect()
    }

    #[tokio::test]
    async fn a_nonce_is_fresh_once_even_when_its_copies_share_a_batch() {
        let store = SqliteStore::open("sqlite::memory:").await.unwrap();
        // The first use holds the writer while the others queue: they are written as one batch,
        // copies of the same nonce included.
        let uses: Vec<_> = ["n-0000000000000000", "n-1111111111111111"]
            .iter()
            .flat_map(|nonce| std::iter::repeat(*nonce).take(4))
            .map(|nonce| store.use_device_nonce("dv_a", nonce, 2_000, 1_000, 2))
            .collect();
        let fresh: Vec<bool> = join_all(uses)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            fresh,
            [true, false, false, false, true, false, false, false]
        );
        // Another device may use the same nonce; a later copy is still refused.
        assert!(store
            .use_device_nonce("dv_b", "n-0000000000000000", 2_000, 1_000, 2)
            .await
            .unwrap());
        assert!(!store
            .use_device_nonce("dv_a", "n-1111111111111111", 2_000, 1_000, 2)
            .await
            .unwrap());
    }
}
