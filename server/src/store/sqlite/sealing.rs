//! Secrets sealed at rest under the server key: migration 7 (TOTP secrets, queued message
//! bodies, the old HMAC key, the key check) and the sealing of what is written and read later.

use sqlx::Connection;

use super::*;
use crate::keys::{outbox_associated, totp_associated};

impl SqliteStore {
    /// Migration 7, secrets sealed at rest: on the first open under a server key, seals every
    /// TOTP secret (pending and confirmed) and queued message body, seals the old in-database
    /// HMAC key (`server_keys.codes`, kept so existing backup codes still verify) and records a
    /// key check. Later opens verify the key check, so a wrong key is refused at start-up.
    /// Returns the old HMAC key when the database had one.
    pub(super) async fn seal_at_rest(&self) -> StoreResult<Option<zeroize::Zeroizing<Vec<u8>>>> {
        const CHECK: &[u8] = b"authcore server key check";
        let mut conn = self.write().await?;
        // Overwrite the plaintext's old cells instead of leaving them in free pages.
        sqlx::query("PRAGMA secure_delete = ON")
            .execute(&mut *conn)
            .await?;
        let mut tx = conn.begin().await?;
        let applied: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = 7)")
                .fetch_one(&mut *tx)
                .await?;
        if !applied {
            if let Some(legacy) =
                sqlx::query_scalar::<_, Vec<u8>>("SELECT key FROM server_keys WHERE name = 'codes'")
                    .fetch_optional(&mut *tx)
                    .await?
            {
                sqlx::query("INSERT INTO server_keys (name, key) VALUES ('codes_sealed', ?)")
                    .bind(self.sealer.seal(b"server_keys:codes", &legacy))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM server_keys WHERE name = 'codes'")
                    .execute(&mut *tx)
                    .await?;
            }
            let rows: Vec<(i64, Vec<u8>, Option<Vec<u8>>)> =
                sqlx::query_as("SELECT user_id, secret, pending_secret FROM totp_credentials")
                    .fetch_all(&mut *tx)
                    .await?;
            for (user_id, secret, pending) in rows {
                let ad = totp_associated(user_id);
                let secret = zeroize::Zeroizing::new(secret);
                let sealed = if secret.is_empty() {
                    Vec::new()
                } else {
                    self.sealer.seal(&ad, &secret)
                };
                sqlx::query(
                    "UPDATE totp_credentials SET secret = ?, pending_secret = ? WHERE user_id = ?",
                )
                .bind(sealed)
                .bind(pending.map(|p| self.sealer.seal(&ad, &zeroize::Zeroizing::new(p))))
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            }
            let bodies: Vec<(i64, String, String)> =
                sqlx::query_as("SELECT id, recipient, body FROM outbox WHERE body != ''")
                    .fetch_all(&mut *tx)
                    .await?;
            for (id, recipient, body) in bodies {
                let body = zeroize::Zeroizing::new(body);
                sqlx::query("UPDATE outbox SET body = ? WHERE id = ?")
                    .bind(self.sealer.seal_text(&outbox_associated(&recipient), &body))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("INSERT INTO server_keys (name, key) VALUES ('key_check', ?)")
                .bind(self.sealer.seal(b"server_keys:key_check", CHECK))
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (7, strftime('%s','now'))",
            )
            .execute(&mut *tx)
            .await?;
        }
        let check: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT key FROM server_keys WHERE name = 'key_check'")
                .fetch_optional(&mut *tx)
                .await?;
        let opens = check
            .map(|c| self.sealer.open(b"server_keys:key_check", &c))
            .transpose()
            .map_err(|e| StoreError(e.to_string()))?;
        if opens.as_deref().map(|c| &c[..]) != Some(CHECK) {
            return Err(StoreError(crate::keys::SealError::WrongKey.to_string()));
        }
        let legacy: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT key FROM server_keys WHERE name = 'codes_sealed'")
                .fetch_optional(&mut *tx)
                .await?;
        let legacy = legacy
            .map(|sealed| self.sealer.open(b"server_keys:codes", &sealed))
            .transpose()
            .map_err(|e| StoreError(e.to_string()))?;
        tx.commit().await?;
        sqlx::query("PRAGMA secure_delete = OFF")
            .execute(&mut *conn)
            .await?;
        Ok(legacy)
    }

    /// A message body as the outbox keeps it: sealed under the server key. Every insert into
    /// `outbox` binds its body through this.
    pub(crate) fn seal_body(&self, recipient: &str, body: &str) -> String {
        self.sealer.seal_text(&outbox_associated(recipient), body)
    }

    pub(super) fn open_totp(&self, user_id: i64, sealed: Vec<u8>) -> StoreResult<Vec<u8>> {
        if sealed.is_empty() {
            return Ok(sealed);
        }
        self.sealer
            .open(&totp_associated(user_id), &sealed)
            .map(|s| s.to_vec())
            .map_err(|e| StoreError(format!("TOTP secret of user {user_id}: {e}")))
    }
}
