//! [`Store`] on SQLite: users, their sign-in history, TOTP credentials and backup codes.

use async_trait::async_trait;
use sqlx::Connection;

use super::*;
use crate::keys::totp_associated;

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
        let (totp, backup_codes_left, verified_phone): (bool, i64, bool) = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM totp_credentials WHERE user_id = ?1 AND confirmed = 1 AND suspended_at IS NULL),
                    (SELECT COUNT(*) FROM backup_codes WHERE user_id = ?1 AND used_at IS NULL),
                    EXISTS (SELECT 1 FROM users WHERE id = ?1 AND phone IS NOT NULL AND phone_verified_at IS NOT NULL)",
        )
        .bind(user_id)
        .fetch_one(&mut *self.read().await?)
        .await?;
        Ok(SecondFactors {
            totp,
            backup_codes_left: u32::try_from(backup_codes_left).unwrap_or(0),
            verified_phone,
        })
    }

    async fn verify_phone(&self, user_id: i64, now: u64) -> StoreResult<()> {
        sqlx::query("UPDATE users SET phone_verified_at = ? WHERE id = ? AND phone IS NOT NULL")
            .bind(ts(now))
            .bind(user_id)
            .execute(&mut *self.write().await?)
            .await?;
        Ok(())
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
}

/// One history row, on the writer or inside a caller's transaction.
pub(super) async fn insert_sign_in_event<'c>(
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
