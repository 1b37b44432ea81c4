//! [`TokenStore`] on SQLite: sessions, authorization codes, access, refresh and device tokens,
//! and their revocation.

use async_trait::async_trait;
use sqlx::sqlite::SqliteConnection;
use sqlx::{Connection, Row};

use super::*;
use crate::secrets::constant_time_eq;

fn session_of(row: (i64, i64, String, i64, Option<String>)) -> Session {
    Session {
        id: row.0,
        user_id: row.1,
        client_id: row.2,
        created_at: un(row.3),
        scope: scope_or_default(row.4),
    }
}

impl SqliteStore {
    pub(super) async fn insert_tokens(
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
    pub(super) async fn revoke_session_tx(
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

#[async_trait]
impl TokenStore for SqliteStore {
    async fn redeem_authorization_code(
        &self,
        r: RedeemRequest,
    ) -> StoreResult<Result<Redeemed, RedeemError>> {
        let mut tx = self.write_tx().await?;
        let rows = tx
            .run(
                sqlx::query(
                    "BEGIN IMMEDIATE;
                     SELECT c.client_id, c.user_id, c.code_challenge, c.method, c.factors, c.issue_device_token, c.ip,
                            c.user_agent, c.expires_at, c.used_at, c.session_id, a.scope, a.nonce
                     FROM authorization_codes c JOIN auth_sessions a ON a.id = c.auth_session_id WHERE c.hash = ?",
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
            scope,
            nonce,
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
            Option<String>,
            Option<String>,
        ) = sqlx::FromRow::from_row(row)?;
        let scope = scope_or_default(scope);
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
                    "INSERT INTO sessions (user_id, client_id, method, factors, ip, user_agent, created_at, scope, auth_time)
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?, (SELECT a.completed_at FROM authorization_codes c
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
                .bind(&scope)
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
        Ok(Ok(Redeemed {
            session: Session {
                id: session_id,
                user_id,
                client_id,
                created_at: r.now,
                scope,
            },
            // As a later look-up would see it: stored and not yet expired.
            device_token_issued: device_token.is_some_and(|(_, expires_at)| expires_at > r.now),
            nonce,
        }))
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
        #[allow(clippy::type_complexity)]
        let row: Option<(i64, i64, Option<i64>, Option<String>, i64, String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT r.session_id, r.expires_at, r.rotated_at, s.scope, s.user_id, s.client_id, s.created_at, s.revoked_at
             FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id WHERE r.hash = ?",
        )
        .bind(old_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((
            session_id,
            expires_at,
            rotated_at,
            scope,
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
            scope: scope_or_default(scope),
        }))
    }

    async fn session_for_access_token(
        &self,
        hash: &[u8],
        now: u64,
    ) -> StoreResult<Option<Session>> {
        let row: Option<(i64, i64, String, i64, Option<String>)> = sqlx::query_as(
            "SELECT s.id, s.user_id, s.client_id, s.created_at, s.scope FROM access_tokens a JOIN sessions s ON s.id = a.session_id
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

    async fn active_sessions(
        &self,
        user_id: i64,
        created_after: u64,
    ) -> StoreResult<Vec<SessionInfo>> {
        let rows: Vec<(i64, String, String, String, String, String, i64)> = sqlx::query_as(
            "SELECT id, client_id, method, factors, ip, user_agent, created_at FROM sessions
             WHERE user_id = ? AND revoked_at IS NULL AND created_at > ? ORDER BY id DESC",
        )
        .bind(user_id)
        .bind(ts(created_after))
        .fetch_all(&mut *self.read().await?)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| SessionInfo {
                id: r.0,
                client_id: r.1,
                method: r.2,
                factors: split(&r.3),
                ip: r.4,
                user_agent: r.5,
                created_at: un(r.6),
            })
            .collect())
    }

    async fn revoke_user_session(
        &self,
        user_id: i64,
        session_id: i64,
        now: u64,
    ) -> StoreResult<bool> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let mine: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM sessions WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
        )
        .bind(session_id)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        if mine.is_none() {
            tx.rollback().await?;
            return Ok(false);
        }
        Self::revoke_session_tx(&mut tx, session_id, now).await?;
        tx.commit().await?;
        Ok(true)
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
}
