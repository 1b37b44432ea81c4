//! [`SecurityStore`] on SQLite (schema_v4.sql).

use async_trait::async_trait;
use sqlx::Connection;

use super::super::devices::{Device, NewEnrollment};
use super::super::security::*;
use super::super::StoreResult;
use super::devices::{device_of, DEVICE_COLUMNS};
use super::{join, split, ts, un, write_backup_codes, SqliteStore, Tx};

#[async_trait]
impl SecurityStore for SqliteStore {
    async fn session_auth(&self, session_id: i64) -> StoreResult<Option<SessionAuth>> {
        let row: Option<(i64, String)> = sqlx::query_as(
            "SELECT COALESCE(auth_time, created_at), factors FROM sessions WHERE id = ?",
        )
        .bind(session_id)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        Ok(row.map(|(auth_time, factors)| SessionAuth {
            auth_time: un(auth_time),
            factors: split(&factors),
        }))
    }

    async fn record_security_event(&self, noted: Noted) -> StoreResult<()> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        insert_noted(&mut tx, &noted, self).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn security_events(&self, user_id: i64, limit: u32) -> StoreResult<Vec<SecurityEvent>> {
        #[allow(clippy::type_complexity)]
        let rows: Vec<(i64, i64, String, String, String, String, String)> = sqlx::query_as(
            "SELECT user_id, at, kind, detail, factors, ip, user_agent FROM security_events
             WHERE user_id = ? ORDER BY id DESC LIMIT ?",
        )
        .bind(user_id)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.read().await?)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| SecurityEvent {
                user_id: r.0,
                at: un(r.1),
                kind: r.2,
                detail: r.3,
                factors: split(&r.4),
                ip: r.5,
                user_agent: r.6,
            })
            .collect())
    }

    async fn change_password(
        &self,
        user_id: i64,
        password_hash: &str,
        failure_key: &str,
        keep_session: i64,
        now: u64,
        noted: Box<dyn FnOnce(u64) -> Noted + Send>,
    ) -> StoreResult<u64> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM sessions WHERE user_id = ? AND revoked_at IS NULL AND id <> ?",
        )
        .bind(user_id)
        .bind(keep_session)
        .fetch_all(&mut *tx)
        .await?;
        for id in &ids {
            Self::revoke_session_tx(&mut tx, *id, now).await?;
        }
        sqlx::query("DELETE FROM password_failures WHERE key = ?")
            .bind(failure_key)
            .execute(&mut *tx)
            .await?;
        insert_noted(&mut tx, &noted(ids.len() as u64), self).await?;
        tx.commit().await?;
        Ok(ids.len() as u64)
    }

    async fn reset_password_with_review(
        &self,
        user_id: i64,
        password_hash: &str,
        failure_key: &str,
        now: u64,
        review_since: u64,
        notes: ResetNotes,
    ) -> StoreResult<Suspended> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM sessions WHERE user_id = ? AND revoked_at IS NULL")
                .bind(user_id)
                .fetch_all(&mut *tx)
                .await?;
        for id in ids {
            Self::revoke_session_tx(&mut tx, id, now).await?;
        }
        sqlx::query("DELETE FROM password_failures WHERE key = ?")
            .bind(failure_key)
            .execute(&mut *tx)
            .await?;
        let suspended_ids: Vec<String> = sqlx::query_scalar(
            "UPDATE devices SET suspended_at = ? WHERE user_id = ? AND removed_at IS NULL AND suspended_at IS NULL
             AND created_at >= ? RETURNING id",
        )
        .bind(ts(now))
        .bind(user_id)
        .bind(ts(review_since))
        .fetch_all(&mut *tx)
        .await?;
        let mut devices = Vec::new();
        for id in &suspended_ids {
            let row = sqlx::query(&format!("{DEVICE_COLUMNS} WHERE id = ?"))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            devices.push(device_of(&row)?);
        }
        devices.sort_by(|a: &Device, b: &Device| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        let totp = sqlx::query(
            "UPDATE totp_credentials SET suspended_at = ? WHERE user_id = ? AND confirmed = 1 AND suspended_at IS NULL
             AND COALESCE(confirmed_at, created_at) >= ?",
        )
        .bind(ts(now))
        .bind(user_id)
        .bind(ts(review_since))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let suspended = Suspended { devices, totp };
        for noted in notes(&suspended) {
            insert_noted(&mut tx, &noted, self).await?;
        }
        tx.commit().await?;
        Ok(suspended)
    }

    async fn confirm_device(
        &self,
        user_id: i64,
        device_id: &str,
        now: u64,
        noted: Noted,
    ) -> StoreResult<bool> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let done = sqlx::query(
            "UPDATE devices SET suspended_at = NULL, reviewed_at = ? WHERE id = ? AND user_id = ?
             AND removed_at IS NULL AND suspended_at IS NOT NULL",
        )
        .bind(ts(now))
        .bind(device_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        noted_if(tx, done.rows_affected() == 1, &noted, self).await
    }

    async fn confirm_suspended_totp(
        &self,
        user_id: i64,
        now: u64,
        noted: Noted,
    ) -> StoreResult<bool> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let done = sqlx::query(
            "UPDATE totp_credentials SET suspended_at = NULL, reviewed_at = ?
             WHERE user_id = ? AND suspended_at IS NOT NULL",
        )
        .bind(ts(now))
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        noted_if(tx, done.rows_affected() == 1, &noted, self).await
    }

    async fn had_second_factor(&self, user_id: i64, at: u64) -> StoreResult<bool> {
        let had: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM devices WHERE user_id = ?1 AND state = 'active' AND removed_at IS NULL
                    AND suspended_at IS NULL AND COALESCE(activated_at, created_at) < ?2
                    AND (reviewed_at IS NULL OR reviewed_at < ?2))
                 OR EXISTS (SELECT 1 FROM totp_credentials WHERE user_id = ?1 AND confirmed = 1
                    AND suspended_at IS NULL AND COALESCE(confirmed_at, created_at) < ?2
                    AND (reviewed_at IS NULL OR reviewed_at < ?2))
                 OR EXISTS (SELECT 1 FROM backup_codes WHERE user_id = ?1 AND used_at IS NULL AND created_at < ?2)
                 OR EXISTS (SELECT 1 FROM users WHERE id = ?1 AND phone IS NOT NULL AND phone_verified_at < ?2)",
        )
        .bind(user_id)
        .bind(ts(at))
        .fetch_one(&mut *self.read().await?)
        .await?;
        Ok(had)
    }

    async fn confirm_totp_at(
        &self,
        user_id: i64,
        step: u64,
        now: u64,
        noted: Noted,
    ) -> StoreResult<bool> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let done = sqlx::query(
            "UPDATE totp_credentials SET secret = pending_secret, pending_secret = NULL, confirmed = 1, last_step = ?,
                    confirmed_at = ?, suspended_at = NULL, reviewed_at = NULL
             WHERE user_id = ? AND pending_secret IS NOT NULL",
        )
        .bind(ts(step))
        .bind(ts(now))
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        noted_if(tx, done.rows_affected() == 1, &noted, self).await
    }

    async fn remove_totp(&self, user_id: i64, noted: Noted) -> StoreResult<bool> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let done = sqlx::query("DELETE FROM totp_credentials WHERE user_id = ?")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        noted_if(tx, done.rows_affected() == 1, &noted, self).await
    }

    async fn regenerate_backup_codes(
        &self,
        user_id: i64,
        hashes: Vec<Vec<u8>>,
        now: u64,
        noted: Noted,
    ) -> StoreResult<()> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        write_backup_codes(&mut tx, user_id, hashes, now).await?;
        insert_noted(&mut tx, &noted, self).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn remove_device_noted(
        &self,
        user_id: i64,
        device_id: &str,
        now: u64,
        noted: Noted,
    ) -> StoreResult<bool> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let done = sqlx::query(
            "UPDATE devices SET removed_at = ?, push_token = NULL WHERE id = ? AND user_id = ? AND removed_at IS NULL",
        )
        .bind(ts(now))
        .bind(device_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
            sqlx::query("DELETE FROM device_nonces WHERE device_id = ?")
                .bind(device_id)
                .execute(&mut *tx)
                .await?;
        }
        noted_if(tx, done.rows_affected() == 1, &noted, self).await
    }

    async fn devices_added_since(&self, user_id: i64, since: u64) -> StoreResult<Vec<Device>> {
        let rows = sqlx::query(&format!(
            "{DEVICE_COLUMNS} WHERE user_id = ? AND removed_at IS NULL AND created_at >= ? ORDER BY created_at, id"
        ))
        .bind(user_id)
        .bind(ts(since))
        .fetch_all(&mut *self.read().await?)
        .await?;
        Ok(rows.iter().map(device_of).collect::<Result<_, _>>()?)
    }

    async fn create_enrollment_capped(
        &self,
        e: NewEnrollment,
        max_pending: u32,
    ) -> StoreResult<Result<i64, EnrollmentRefusal>> {
        // The writer is one connection: the count and the insert see no other writer between them.
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
        let (pending, soonest): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), MIN(expires_at) FROM enrollments
             WHERE user_id = ? AND used_at IS NULL AND failed_at IS NULL AND expires_at > ?",
        )
        .bind(e.user_id)
        .bind(ts(e.now))
        .fetch_one(&mut *tx)
        .await?;
        if pending >= i64::from(max_pending) {
            // Nothing changes: an earlier code of the same sign-in keeps working.
            tx.rollback().await?;
            let retry_after = soonest.map_or(1, |at| un(at).saturating_sub(e.now)).max(1);
            return Ok(Err(EnrollmentRefusal::Capped { retry_after }));
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
        Ok(Ok(id))
    }
}

/// Inserts a security event and its mail inside the caller's transaction.
pub(super) async fn insert_noted(
    tx: &mut Tx<'_>,
    noted: &Noted,
    store: &SqliteStore,
) -> StoreResult<()> {
    let e = &noted.event;
    sqlx::query(
        "INSERT INTO security_events (user_id, at, kind, detail, factors, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(e.user_id)
    .bind(ts(e.at))
    .bind(&e.kind)
    .bind(&e.detail)
    .bind(join(&e.factors))
    .bind(&e.ip)
    .bind(&e.user_agent)
    .execute(&mut **tx)
    .await?;
    if let Some(m) = &noted.mail {
        sqlx::query(
            "INSERT INTO outbox (channel, recipient, subject, body, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&m.channel)
        .bind(&m.recipient)
        .bind(&m.subject)
        .bind(store.seal_body(&m.recipient, m.body.expose()))
        .bind(ts(e.at))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Commits the change with `noted` when it `happened`; otherwise rolls back. Answers `happened`.
async fn noted_if(
    mut tx: Tx<'_>,
    happened: bool,
    noted: &Noted,
    store: &SqliteStore,
) -> StoreResult<bool> {
    if happened {
        insert_noted(&mut tx, noted, store).await?;
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(happened)
}
