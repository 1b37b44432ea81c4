//! [`SignInStore`] on SQLite: the failed-attempt lockout, auth sessions, one-time codes and the
//! completion of a sign-in.

use async_trait::async_trait;
use sqlx::Row;

use super::*;
use crate::secrets::constant_time_eq;

#[async_trait]
impl SignInStore for SqliteStore {
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
                    created_at, expires_at, acr, scope, nonce)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, strftime('%s','now'), ?, ?, ?, ?) RETURNING id",
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
        .bind(&s.scope)
        .bind(&s.nonce)
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
                    a.user_agent, a.expires_at, u.id, u.email, u.phone, u.name, u.password_hash, a.acr,
                    a.scope, a.nonce
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
            scope: scope_or_default(r.try_get(21)?),
            nonce: r.try_get(22)?,
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
}
