//! [`OutboxStore`] on SQLite: queued messages, their bodies sealed under the server key.

use async_trait::async_trait;

use super::*;
use crate::keys::outbox_associated;
use crate::secrets::SecretString;

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn pending_messages(&self, limit: u32) -> StoreResult<Vec<OutboxRecord>> {
        self.select_messages(
            "WHERE sent_at IS NULL AND attempts < 5 ORDER BY id LIMIT ?",
            Some(limit),
        )
        .await
    }

    async fn mark_messages_sent(&self, ids: &[i64], now: u64, keep_body: bool) -> StoreResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        // One statement for the whole batch: `?2` is a JSON array of ids.
        let sql = if keep_body {
            "UPDATE outbox SET sent_at = ?1, attempts = attempts + 1 WHERE id IN (SELECT value FROM json_each(?2))"
        } else {
            "DELETE FROM outbox WHERE id IN (SELECT value FROM json_each(?2)) AND ?1 IS NOT NULL"
        };
        let ids = serde_json::to_string(ids).map_err(|e| StoreError(e.to_string()))?;
        sqlx::query(sql)
            .bind(ts(now))
            .bind(ids)
            .execute(&mut *self.write().await?)
            .await?;
        Ok(())
    }

    async fn expire_messages(&self, created_before: u64) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM outbox WHERE created_at < ? OR (sent_at IS NULL AND attempts >= 5)",
        )
        .bind(ts(created_before))
        .execute(&mut *self.write().await?)
        .await?;
        Ok(done.rows_affected())
    }

    async fn mark_message_failed(&self, id: i64) -> StoreResult<()> {
        sqlx::query("UPDATE outbox SET attempts = attempts + 1 WHERE id = ?")
            .bind(id)
            .execute(&mut *self.write().await?)
            .await?;
        Ok(())
    }

    async fn messages(
        &self,
        recipient: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<OutboxRecord>> {
        let rows: Vec<MessageRow> = sqlx::query_as(
            "SELECT * FROM (SELECT id, channel, recipient, subject, body, created_at, sent_at, attempts FROM outbox
             WHERE ?1 IS NULL OR recipient = ?1 COLLATE NOCASE ORDER BY id DESC LIMIT ?2) ORDER BY id",
        )
        .bind(recipient)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.read().await?)
        .await?;
        Ok(rows.into_iter().map(|r| self.record_of(r)).collect())
    }
}

impl SqliteStore {
    async fn select_messages(
        &self,
        tail: &str,
        limit: Option<u32>,
    ) -> StoreResult<Vec<OutboxRecord>> {
        let sql = format!(
            "SELECT id, channel, recipient, subject, body, created_at, sent_at, attempts FROM outbox {tail}"
        );
        let mut query = sqlx::query_as::<_, MessageRow>(&sql);
        if let Some(limit) = limit {
            query = query.bind(i64::from(limit));
        }
        let rows = query.fetch_all(&mut *self.read().await?).await?;
        Ok(rows.into_iter().map(|r| self.record_of(r)).collect())
    }
}

type MessageRow = (i64, String, String, String, String, i64, Option<i64>, i64);

impl SqliteStore {
    /// A message row with its body opened (a body that is not sealed is passed through).
    fn record_of(&self, r: MessageRow) -> OutboxRecord {
        let body = if r.4.starts_with(crate::keys::TEXT_PREFIX) {
            match self.sealer.open_text(&outbox_associated(&r.2), &r.4) {
                Ok(body) => body.to_string(),
                Err(error) => {
                    tracing::warn!(id = r.0, %error, "outbox: cannot open a message body");
                    String::new()
                }
            }
        } else {
            r.4
        };
        OutboxRecord {
            id: r.0,
            channel: r.1,
            recipient: r.2,
            subject: r.3,
            body: SecretString::new(body),
            created_at: un(r.5),
            sent_at: r.6.map(un),
            attempts: u32::try_from(r.7).unwrap_or(0),
        }
    }
}
