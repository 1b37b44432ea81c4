//! [`PushStore`] on SQLite (schema_v2.sql): push requests created within their caps, looked up,
//! listed for a device and answered once (a test approval also settles its device and
//! enrollment).

use async_trait::async_trait;
use sqlx::Row;

use super::super::devices::*;
use super::super::StoreResult;
use super::{join, ts, un, SqliteStore};

const PUSH_COLUMNS: &str = "SELECT id, user_id, auth_session_id, kind, device_id, require_uv, number, choices,
    app_name, ip, user_agent, location, created_at, expires_at, answered_at, answered_by, result FROM push_requests";

fn push_of(r: &sqlx::sqlite::SqliteRow) -> Result<PushRequest, sqlx::Error> {
    let choices: Option<String> = r.try_get(7)?;
    Ok(PushRequest {
        id: r.try_get(0)?,
        user_id: r.try_get(1)?,
        auth_session_id: r.try_get(2)?,
        kind: r.try_get(3)?,
        device_id: r.try_get(4)?,
        require_uv: r.try_get(5)?,
        number: r.try_get(6)?,
        choices: choices.map(|c| c.split(',').map(str::to_owned).collect()),
        app_name: r.try_get(8)?,
        ip: r.try_get(9)?,
        user_agent: r.try_get(10)?,
        location: r.try_get(11)?,
        created_at: un(r.try_get(12)?),
        expires_at: un(r.try_get(13)?),
        answered_at: r.try_get::<Option<i64>, _>(14)?.map(un),
        answered_by: r.try_get(15)?,
        result: r.try_get(16)?,
    })
}

/// Inserts a push request and returns its id (`RETURNING id`); bind with [`bind_push`].
const INSERT_PUSH: &str = "INSERT INTO push_requests (user_id, auth_session_id, kind, device_id, require_uv, number, choices,
    app_name, ip, user_agent, location, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id";

fn bind_push<'q>(
    q: super::SqlBatch<'q>,
    r: &'q NewPushRequest,
    number: &'q str,
    choices: Option<&[String]>,
) -> super::SqlBatch<'q> {
    q.bind(r.user_id)
        .bind(r.auth_session_id)
        .bind(&r.kind)
        .bind(&r.device_id)
        .bind(r.require_uv)
        .bind(number)
        .bind(choices.map(|c| c.join(",")))
        .bind(&r.app_name)
        .bind(&r.ip)
        .bind(&r.user_agent)
        .bind(&r.location)
        .bind(ts(r.created_at))
        .bind(ts(r.expires_at))
}

pub(super) async fn insert_push<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Sqlite>,
    r: &NewPushRequest,
    number: &str,
    choices: Option<&[String]>,
) -> StoreResult<i64> {
    let row = bind_push(sqlx::query(INSERT_PUSH), r, number, choices)
        .fetch_one(db)
        .await?;
    Ok(row.try_get(0)?)
}

fn created(
    r: NewPushRequest,
    id: i64,
    number: String,
    choices: Option<Vec<String>>,
) -> PushRequest {
    PushRequest {
        id,
        user_id: r.user_id,
        auth_session_id: r.auth_session_id,
        kind: r.kind,
        device_id: r.device_id,
        require_uv: r.require_uv,
        number,
        choices,
        app_name: r.app_name,
        ip: r.ip,
        user_agent: r.user_agent,
        location: r.location,
        created_at: r.created_at,
        expires_at: r.expires_at,
        answered_at: None,
        answered_by: None,
        result: None,
    }
}

#[async_trait]
impl PushStore for SqliteStore {
    async fn create_push_request(
        &self,
        r: NewPushRequest,
        limits: PushLimits,
        pick: NumberPicker,
    ) -> StoreResult<Result<PushRequest, PushRefusal>> {
        // Two trips to the writer: the block and the user's recent pushes (which decide), then
        // the insert and the commit.
        let mut tx = self.write_tx().await?;
        let mut pending = Vec::new();
        if let Some(user_id) = r.user_id {
            // Rows of one column: an active block; of five: the unapproved sign-in pushes in the
            // window (pending, denied, mismatched or expired), and whether each is a passwordless
            // one (those have their own budget: they are avoided for the number, not counted).
            let rows = tx
                .run(
                    sqlx::query(
                        "BEGIN IMMEDIATE;
                         SELECT until FROM push_blocks WHERE user_id = ? AND until > ?;
                         SELECT created_at, expires_at, number, result,
                                EXISTS (SELECT 1 FROM passwordless_pushes p WHERE p.push_request_id = push_requests.id)
                         FROM push_requests
                         WHERE user_id = ? AND created_at > ? AND (result IS NULL OR result <> 'approved') AND kind = 'sign_in'
                         ORDER BY created_at",
                    )
                    .bind(user_id)
                    .bind(ts(r.created_at))
                    .bind(user_id)
                    .bind(ts(r.created_at.saturating_sub(limits.window_s))),
                )
                .await?;
            if let Some(block) = rows.iter().find(|row| row.len() == 1) {
                let until: i64 = block.try_get(0)?;
                tx.rollback().await?;
                return Ok(Err(PushRefusal::Blocked { until: un(until) }));
            }
            let recent = rows
                .iter()
                .map(|row| {
                    Ok::<_, sqlx::Error>((
                        row.try_get::<i64, _>(0)?,
                        row.try_get::<i64, _>(1)?,
                        row.try_get::<String, _>(2)?,
                        row.try_get::<Option<String>, _>(3)?,
                        row.try_get::<bool, _>(4)?,
                    ))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let counted: Vec<i64> = recent
                .iter()
                .filter(|row| !row.4)
                .map(|row| row.0)
                .collect();
            if counted.len() >= limits.max_outstanding as usize {
                tx.rollback().await?;
                let oldest = counted.first().map_or(r.created_at, |at| un(*at));
                return Ok(Err(PushRefusal::Capped {
                    retry_after: (oldest + limits.window_s).saturating_sub(r.created_at),
                }));
            }
            pending = recent
                .into_iter()
                .filter(|row| row.3.is_none() && un(row.1) > r.created_at)
                .map(|row| row.2)
                .collect();
        } else {
            tx.run(sqlx::query("BEGIN IMMEDIATE")).await?;
        }
        let (number, choices) = pick(&pending);
        let sql = format!("{INSERT_PUSH}; COMMIT");
        let rows = tx
            .finish(bind_push(
                sqlx::query(&sql),
                &r,
                &number,
                choices.as_deref(),
            ))
            .await?;
        let id: i64 = rows.first().ok_or(sqlx::Error::RowNotFound)?.try_get(0)?;
        Ok(Ok(created(r, id, number, choices)))
    }

    async fn create_passwordless_push_request(
        &self,
        r: NewPushRequest,
        key: &str,
        budget: PushLimits,
        pick: NumberPicker,
    ) -> StoreResult<Result<PushRequest, PushRefusal>> {
        // One trip decides (tagged rows: `b` the identifier's unapproved passwordless pushes in
        // the window, `x` an active fraud block, `n` the user's pending numbers), one inserts.
        // Rows that can no longer count (approved, or out of the window) go first, so a user
        // who signs in by phone all day keeps only a handful.
        let window_start = ts(r.created_at.saturating_sub(budget.window_s));
        let mut tx = self.write_tx().await?;
        let rows = tx
            .run(
                sqlx::query(
                    "BEGIN IMMEDIATE;
                     DELETE FROM passwordless_pushes WHERE key = ? AND (created_at <= ? OR EXISTS
                         (SELECT 1 FROM push_requests r WHERE r.id = passwordless_pushes.push_request_id AND r.result = 'approved'));
                     SELECT 'b', p.created_at FROM passwordless_pushes p JOIN push_requests r ON r.id = p.push_request_id
                     WHERE p.key = ? AND p.created_at > ? AND (r.result IS NULL OR r.result <> 'approved')
                     ORDER BY p.created_at;
                     SELECT 'x', until FROM push_blocks WHERE user_id = ? AND until > ?;
                     SELECT 'n', number FROM push_requests WHERE user_id = ? AND result IS NULL AND expires_at > ?",
                )
                .bind(key)
                .bind(window_start)
                .bind(key)
                .bind(window_start)
                .bind(r.user_id)
                .bind(ts(r.created_at))
                .bind(r.user_id)
                .bind(ts(r.created_at)),
            )
            .await?;
        let mut used = Vec::new();
        let mut block = None;
        let mut pending = Vec::new();
        for row in &rows {
            match row.try_get::<String, _>(0)?.as_str() {
                "b" => used.push(un(row.try_get(1)?)),
                "x" => block = Some(un(row.try_get(1)?)),
                _ => pending.push(row.try_get::<String, _>(1)?),
            }
        }
        // The budget first: the same answer whether the identifier has an account.
        if used.len() >= budget.max_outstanding as usize {
            tx.rollback().await?;
            let oldest = used.first().copied().unwrap_or(r.created_at);
            return Ok(Err(PushRefusal::Capped {
                retry_after: (oldest + budget.window_s).saturating_sub(r.created_at),
            }));
        }
        if let Some(until) = block {
            tx.rollback().await?;
            return Ok(Err(PushRefusal::Blocked { until }));
        }
        let (number, choices) = pick(&pending);
        let sql = format!(
            "{INSERT_PUSH};
             INSERT INTO passwordless_pushes (push_request_id, key, created_at) VALUES (last_insert_rowid(), ?, ?);
             COMMIT"
        );
        let key = key.to_owned();
        let rows = tx
            .finish(
                bind_push(sqlx::query(&sql), &r, &number, choices.as_deref())
                    .bind(key)
                    .bind(ts(r.created_at)),
            )
            .await?;
        let id: i64 = rows.first().ok_or(sqlx::Error::RowNotFound)?.try_get(0)?;
        Ok(Ok(created(r, id, number, choices)))
    }

    async fn push_request(&self, id: i64) -> StoreResult<Option<PushRequest>> {
        let row = sqlx::query(&format!("{PUSH_COLUMNS} WHERE id = ?"))
            .bind(id)
            .fetch_optional(&mut *self.read().await?)
            .await?;
        Ok(row.as_ref().map(push_of).transpose()?)
    }

    async fn session_push_request(&self, auth_session_id: i64) -> StoreResult<Option<PushRequest>> {
        let row = sqlx::query(&format!(
            "{PUSH_COLUMNS} WHERE auth_session_id = ? AND kind = 'sign_in' ORDER BY id DESC LIMIT 1"
        ))
        .bind(auth_session_id)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        Ok(row.as_ref().map(push_of).transpose()?)
    }

    async fn pending_push_requests(
        &self,
        device: &Device,
        passwordless: bool,
        now: u64,
    ) -> StoreResult<Vec<PushRequest>> {
        let rows = sqlx::query(&format!(
            "{PUSH_COLUMNS} WHERE user_id = ? AND result IS NULL AND expires_at > ?
             AND ((device_id IS NULL AND ? AND (require_uv = 0 OR ?)) OR device_id = ?)
             ORDER BY id"
        ))
        .bind(device.user_id)
        .bind(ts(now))
        .bind(device.is_active())
        .bind(passwordless)
        .bind(&device.id)
        .fetch_all(&mut *self.read().await?)
        .await?;
        Ok(rows.iter().map(push_of).collect::<Result<_, _>>()?)
    }

    async fn answer_push_request(&self, a: PushAnswer) -> StoreResult<Result<(), AnswerError>> {
        // Two trips to the writer: the answer (which says what else changes), then the rest
        // and the commit.
        let mut tx = self.write_tx().await?;
        let rows = tx
            .run(
                sqlx::query(
                    "BEGIN IMMEDIATE;
                     UPDATE push_requests SET answered_at = ?, answered_by = ?, result = ?, signature = ?
                     WHERE id = ? AND result IS NULL AND expires_at > ? RETURNING kind, user_id",
                )
                .bind(ts(a.now))
                .bind(&a.device_id)
                .bind(&a.result)
                .bind(&a.signature)
                .bind(a.request_id)
                .bind(ts(a.now)),
            )
            .await?;
        let Some(row) = rows.first() else {
            let rows = tx
                .finish(
                    sqlx::query("SELECT result FROM push_requests WHERE id = ?; ROLLBACK")
                        .bind(a.request_id),
                )
                .await?;
            let state: Option<Option<String>> = rows.first().map(|r| r.try_get(0)).transpose()?;
            return Ok(Err(match state {
                Some(Some(_)) => AnswerError::AlreadyAnswered,
                _ => AnswerError::Expired,
            }));
        };
        let kind: String = row.try_get(0)?;
        let user_id: Option<i64> = row.try_get(1)?;
        let mut sql = String::new();
        if kind == "test" {
            sql.push_str(if a.result == "approved" {
                "UPDATE devices SET state = 'active', activated_at = ? WHERE id = ?;
                 UPDATE enrollments SET completed_at = ? WHERE test_request_id = ?;"
            } else {
                "UPDATE devices SET removed_at = ? WHERE id = ?;
                 UPDATE enrollments SET failed_at = ? WHERE test_request_id = ?;"
            });
        }
        let block = a.block_until.zip(user_id);
        if block.is_some() {
            sql.push_str(
                "INSERT INTO push_blocks (user_id, until) VALUES (?, ?)
                 ON CONFLICT(user_id) DO UPDATE SET until = MAX(until, excluded.until);",
            );
        }
        if a.event.is_some() {
            sql.push_str(
                "INSERT INTO sign_in_events (user_id, at, kind, method, factors, ip, user_agent, result)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?);",
            );
        }
        // Only an approved test approval adds the device (and so has a security event).
        let security = a
            .security
            .as_ref()
            .filter(|_| kind == "test" && a.result == "approved");
        if let Some(noted) = security {
            sql.push_str(
                "INSERT INTO security_events (user_id, at, kind, detail, factors, ip, user_agent)
                 VALUES (?, ?, ?, ?, ?, ?, ?);",
            );
            if noted.mail.is_some() {
                sql.push_str(
                    "INSERT INTO outbox (channel, recipient, subject, body, created_at) VALUES (?, ?, ?, ?, ?);",
                );
            }
        }
        sql.push_str("COMMIT");
        let mut q = sqlx::query(&sql);
        if kind == "test" {
            q = q
                .bind(ts(a.now))
                .bind(&a.device_id)
                .bind(ts(a.now))
                .bind(a.request_id);
        }
        if let Some((until, user_id)) = block {
            q = q.bind(user_id).bind(ts(until));
        }
        if let Some(e) = &a.event {
            q = q
                .bind(e.user_id)
                .bind(ts(e.at))
                .bind(&e.kind)
                .bind(&e.method)
                .bind(join(&e.factors))
                .bind(&e.ip)
                .bind(&e.user_agent)
                .bind(&e.result);
        }
        if let Some(noted) = security {
            let e = &noted.event;
            q = q
                .bind(e.user_id)
                .bind(ts(e.at))
                .bind(&e.kind)
                .bind(&e.detail)
                .bind(join(&e.factors))
                .bind(&e.ip)
                .bind(&e.user_agent);
            if let Some(m) = &noted.mail {
                q = q
                    .bind(&m.channel)
                    .bind(&m.recipient)
                    .bind(&m.subject)
                    .bind(self.seal_body(&m.recipient, m.body.expose()))
                    .bind(ts(e.at));
            }
        }
        tx.finish(q).await?;
        Ok(Ok(()))
    }
}
