//! [`CredentialStore`] on SQLite: app passwords, the security token, and the sessions a
//! `grant_type=password` opens.

use async_trait::async_trait;
use sqlx::Connection;

use super::accounts::insert_sign_in_event;
use super::security::insert_noted;
use super::*;

#[async_trait]
impl CredentialStore for SqliteStore {
    async fn create_app_password(
        &self,
        user_id: i64,
        name: &str,
        hash: &[u8],
        now: u64,
        noted: Noted,
    ) -> StoreResult<i64> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO app_passwords (user_id, name, hash, created_at) VALUES (?, ?, ?, ?) RETURNING id",
        )
        .bind(user_id)
        .bind(name)
        .bind(hash)
        .bind(ts(now))
        .fetch_one(&mut *tx)
        .await?;
        insert_noted(&mut tx, &noted, self).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn app_passwords(&self, user_id: i64) -> StoreResult<Vec<AppPasswordRecord>> {
        let rows: Vec<(i64, String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT id, name, created_at, last_used_at FROM app_passwords
             WHERE user_id = ? AND revoked_at IS NULL ORDER BY id",
        )
        .bind(user_id)
        .fetch_all(&mut *self.read().await?)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, created_at, last_used_at)| AppPasswordRecord {
                id,
                name,
                created_at: un(created_at),
                last_used_at: last_used_at.map(un),
            })
            .collect())
    }

    async fn revoke_app_password(
        &self,
        user_id: i64,
        id: i64,
        now: u64,
        noted: Noted,
    ) -> StoreResult<bool> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let done = sqlx::query(
            "UPDATE app_passwords SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
        )
        .bind(ts(now))
        .bind(id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        insert_noted(&mut tx, &noted, self).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn revoke_all_app_passwords(&self, user_id: i64, now: u64) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE app_passwords SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
        )
        .bind(ts(now))
        .bind(user_id)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(done.rows_affected())
    }

    async fn use_app_password(
        &self,
        user_id: i64,
        hash: &[u8],
        now: u64,
    ) -> StoreResult<AppPasswordUse> {
        let row: Option<(Option<i64>,)> = sqlx::query_as(
            "UPDATE app_passwords SET last_used_at = CASE WHEN revoked_at IS NULL THEN ? ELSE last_used_at END
             WHERE user_id = ? AND hash = ? RETURNING revoked_at",
        )
        .bind(ts(now))
        .bind(user_id)
        .bind(hash)
        .fetch_optional(&mut *self.write().await?)
        .await?;
        Ok(match row {
            None => AppPasswordUse::Unknown,
            Some((Some(_),)) => AppPasswordUse::Revoked,
            Some((None,)) => AppPasswordUse::Used,
        })
    }

    async fn reset_security_token(
        &self,
        user_id: i64,
        hash: &[u8],
        now: u64,
        noted: Noted,
    ) -> StoreResult<()> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        sqlx::query(
            "INSERT INTO security_tokens (user_id, hash, created_at) VALUES (?, ?, ?)
             ON CONFLICT(user_id) DO UPDATE SET previous_hash = hash, hash = excluded.hash,
                 created_at = excluded.created_at",
        )
        .bind(user_id)
        .bind(hash)
        .bind(ts(now))
        .execute(&mut *tx)
        .await?;
        insert_noted(&mut tx, &noted, self).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn match_security_token(
        &self,
        user_id: i64,
        hash: &[u8],
    ) -> StoreResult<SecurityTokenMatch> {
        let row: Option<(Vec<u8>, Option<Vec<u8>>)> =
            sqlx::query_as("SELECT hash, previous_hash FROM security_tokens WHERE user_id = ?")
                .bind(user_id)
                .fetch_optional(&mut *self.read().await?)
                .await?;
        Ok(match row {
            Some((current, _)) if crate::secrets::constant_time_eq(&current, hash) => {
                SecurityTokenMatch::Current
            }
            Some((_, Some(previous))) if crate::secrets::constant_time_eq(&previous, hash) => {
                SecurityTokenMatch::Previous
            }
            _ => SecurityTokenMatch::Unknown,
        })
    }

    async fn open_session(
        &self,
        session: NewSession,
        tokens: NewTokens,
        event: SignInEvent,
    ) -> StoreResult<Session> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO sessions (user_id, client_id, method, factors, ip, user_agent, created_at, auth_time)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(session.user_id)
        .bind(&session.client_id)
        .bind(&session.method)
        .bind(join(&session.factors))
        .bind(&session.ip)
        .bind(&session.user_agent)
        .bind(ts(session.now))
        .bind(ts(session.now))
        .fetch_one(&mut *tx)
        .await?;
        Self::insert_tokens(&mut tx, id, session.user_id, session.now, &tokens).await?;
        insert_sign_in_event(&mut *tx, &event).await?;
        tx.commit().await?;
        Ok(Session {
            id,
            user_id: session.user_id,
            client_id: session.client_id,
            created_at: session.now,
            scope: scope_or_default(None),
        })
    }
}
