//! [`FederationStore`] on SQLite (schema version 10).

use async_trait::async_trait;

use super::super::federation::*;
use super::super::StoreResult;
use super::{ts, un, SqliteStore};

/// How long used and expired pending authorizations are kept (a replayed callback within it is
/// told so).
const KEEP_S: u64 = 86_400;

#[async_trait]
impl FederationStore for SqliteStore {
    async fn create_pending_authorization(
        &self,
        state_hash: &[u8],
        p: &PendingAuthorization,
        now: u64,
    ) -> StoreResult<()> {
        let mut conn = self.write().await?;
        sqlx::query("DELETE FROM pending_authorizations WHERE expires_at < ?")
            .bind(ts(now.saturating_sub(KEEP_S)))
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "INSERT INTO pending_authorizations (state_hash, client_id, redirect_uri, code_challenge, scope,
                    state, nonce, upstream_id, ip, user_agent, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(state_hash)
        .bind(&p.client_id)
        .bind(&p.redirect_uri)
        .bind(&p.code_challenge)
        .bind(&p.scope)
        .bind(&p.state)
        .bind(&p.nonce)
        .bind(&p.upstream_id)
        .bind(&p.ip)
        .bind(&p.user_agent)
        .bind(ts(now))
        .bind(ts(p.expires_at))
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn take_pending_authorization(
        &self,
        state_hash: &[u8],
        now: u64,
    ) -> StoreResult<Result<PendingAuthorization, TakeError>> {
        type Row = (
            String,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            String,
            String,
            String,
            i64,
        );
        let mut conn = self.write().await?;
        // One statement on the one writer: of two callbacks, exactly one marks it used.
        let taken: Option<Row> = sqlx::query_as(
            "UPDATE pending_authorizations SET used_at = ?
             WHERE state_hash = ? AND used_at IS NULL AND expires_at > ?
             RETURNING client_id, redirect_uri, code_challenge, scope, state, nonce, upstream_id, ip,
                       user_agent, expires_at",
        )
        .bind(ts(now))
        .bind(state_hash)
        .bind(ts(now))
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(r) = taken {
            return Ok(Ok(PendingAuthorization {
                client_id: r.0,
                redirect_uri: r.1,
                code_challenge: r.2,
                scope: r.3,
                state: r.4,
                nonce: r.5,
                upstream_id: r.6,
                ip: r.7,
                user_agent: r.8,
                expires_at: un(r.9),
            }));
        }
        let found: Option<(Option<i64>, i64)> = sqlx::query_as(
            "SELECT used_at, expires_at FROM pending_authorizations WHERE state_hash = ?",
        )
        .bind(state_hash)
        .fetch_optional(&mut *conn)
        .await?;
        Ok(Err(match found {
            None => TakeError::Unknown,
            Some((Some(_), _)) => TakeError::Used,
            Some((None, _)) => TakeError::Expired,
        }))
    }

    async fn upstream_subject(
        &self,
        upstream_id: &str,
        issuer: &str,
        subject: &str,
    ) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT user_id FROM upstream_subjects WHERE upstream_id = ? AND issuer = ? AND subject = ?",
        )
        .bind(upstream_id)
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&mut *self.read().await?)
        .await?)
    }

    async fn link_upstream_subject(
        &self,
        upstream_id: &str,
        issuer: &str,
        subject: &str,
        user_id: i64,
        now: u64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT OR IGNORE INTO upstream_subjects (upstream_id, issuer, subject, user_id, linked_at)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(upstream_id)
        .bind(issuer)
        .bind(subject)
        .bind(user_id)
        .bind(ts(now))
        .execute(&mut *self.write().await?)
        .await?;
        Ok(())
    }

    async fn bind_code_redirect_uri(
        &self,
        code_hash: &[u8],
        redirect_uri: &str,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO authorization_code_redirects (hash, redirect_uri) VALUES (?, ?)")
            .bind(code_hash)
            .bind(redirect_uri)
            .execute(&mut *self.write().await?)
            .await?;
        Ok(())
    }

    async fn code_redirect_uri(&self, code_hash: &[u8]) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT redirect_uri FROM authorization_code_redirects WHERE hash = ?",
        )
        .bind(code_hash)
        .fetch_optional(&mut *self.read().await?)
        .await?)
    }
}
