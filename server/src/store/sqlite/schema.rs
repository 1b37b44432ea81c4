//! The schema and its migrations, applied in one transaction on open (versions 1 to 6, 8 to 11;
//! 7 is the sealing of secrets at rest, `sealing`).

use sqlx::Connection;

use super::*;

const SCHEMA_V1: &str = include_str!("../schema.sql");
const SCHEMA_V2: &str = include_str!("../schema_v2.sql");
const SCHEMA_V4: &str = include_str!("../schema_v4.sql");

/// Version 3: indexes that keep the hot queries from
/// growing with history. The outbox worker's pending look-up scanned every message ever sent;
/// killing a key's live codes visited every code it ever had; the send cap counted them all.
const SCHEMA_V3: &str = "
CREATE INDEX outbox_pending ON outbox(id) WHERE sent_at IS NULL AND attempts < 5;
CREATE INDEX codes_live ON codes(key, purpose) WHERE dead = 0;
CREATE INDEX codes_sends ON codes(key, created_at);
";

/// Version 5: whether a device's platform attestation verified at activation (Android Key
/// Attestation, Apple App Attest); passwordless push needs it (`push.require_attestation`).
const SCHEMA_V5: &str = "ALTER TABLE devices ADD COLUMN attested INTEGER NOT NULL DEFAULT 0;";

/// Version 6: limits (issue 10). When the last attempt of a failure run was reserved (attempts
/// are counted before they are checked); unauthenticated phone sign-ins get their own push
/// budget per identifier; authorization codes refused by a logout-all or a password reset.
const SCHEMA_V6: &str = "
ALTER TABLE password_failures ADD COLUMN reserved_at INTEGER;
CREATE TABLE passwordless_pushes (
    push_request_id INTEGER PRIMARY KEY REFERENCES push_requests(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX passwordless_pushes_by_key ON passwordless_pushes(key, created_at);
CREATE TABLE revoked_authorization_codes (
    hash BLOB PRIMARY KEY REFERENCES authorization_codes(hash) ON DELETE CASCADE,
    revoked_at INTEGER NOT NULL
);
";

/// Version 8: the device protocol version each device's app last spoke (the
/// `Authcore-Protocol-Version` header; devices registered before it are apps that never sent
/// one, version 1, which cannot show a number).
const SCHEMA_V8: &str =
    "ALTER TABLE devices ADD COLUMN protocol_version INTEGER NOT NULL DEFAULT 1;";

/// Version 9: OpenID Connect. The scopes a sign-in asked for and its `nonce` (kept with the
/// auth session until the code is exchanged), and the scopes of the session it made (its ID
/// tokens and userinfo). NULL for rows from before: the native default scopes.
const SCHEMA_V9: &str = "
ALTER TABLE auth_sessions ADD COLUMN scope TEXT;
ALTER TABLE auth_sessions ADD COLUMN nonce TEXT;
ALTER TABLE sessions ADD COLUMN scope TEXT;
";

/// Version 10: browser sign-in through upstream OpenID providers. The `/v1/authorize` requests
/// sent upstream (by the hash of the state sent there; single use), the upstream subjects linked
/// to accounts (a later email change upstream keeps the link), and the `redirect_uri` a browser
/// authorization code was issued for (`/v1/token` must be given the same).
const SCHEMA_V10: &str = "
CREATE TABLE pending_authorizations (
    state_hash BLOB PRIMARY KEY,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    scope TEXT NOT NULL,
    state TEXT,
    nonce TEXT,
    upstream_id TEXT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX pending_authorizations_expiry ON pending_authorizations(expires_at);
CREATE TABLE upstream_subjects (
    upstream_id TEXT NOT NULL,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    linked_at INTEGER NOT NULL,
    PRIMARY KEY (upstream_id, issuer, subject)
);
CREATE TABLE authorization_code_redirects (
    hash BLOB PRIMARY KEY REFERENCES authorization_codes(hash) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL
);
";

/// Version 11: account factors (issue 16). When the account's phone number was verified (only a
/// verified number is a second factor, `sms` and `voice`); app passwords (stored as HMACs, kept
/// after revocation so a revoked one is told apart from a wrong one); the API security token
/// (HMACs of the current and the previous one); each user's role in the organisation of their
/// email domain (none: `member`).
const SCHEMA_V11: &str = "
ALTER TABLE users ADD COLUMN phone_verified_at INTEGER;
CREATE TABLE app_passwords (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX app_passwords_by_user ON app_passwords(user_id);
CREATE TABLE security_tokens (
    user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    hash BLOB NOT NULL,
    previous_hash BLOB,
    created_at INTEGER NOT NULL
);
CREATE TABLE org_roles (
    user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    domain TEXT NOT NULL,
    role TEXT NOT NULL
);
CREATE INDEX org_roles_by_domain ON org_roles(domain);
";

impl SqliteStore {
    pub(super) async fn migrate(&self) -> StoreResult<()> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
        )
        .execute(&mut *tx)
        .await?;
        let applied: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
            .fetch_one(&mut *tx)
            .await?;
        if applied.unwrap_or(0) < 1 {
            sqlx::raw_sql(SCHEMA_V1).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES (1, strftime('%s','now'))")
                .execute(&mut *tx)
                .await?;
        }
        Self::apply_once(&mut tx, 2, SCHEMA_V2).await?;
        Self::apply_once(&mut tx, 3, SCHEMA_V3).await?;
        Self::apply_once(&mut tx, 4, SCHEMA_V4).await?;
        Self::apply_once(&mut tx, 5, SCHEMA_V5).await?;
        Self::apply_once(&mut tx, 6, SCHEMA_V6).await?;
        Self::apply_once(&mut tx, 8, SCHEMA_V8).await?;
        Self::apply_once(&mut tx, 9, SCHEMA_V9).await?;
        Self::apply_once(&mut tx, 10, SCHEMA_V10).await?;
        Self::apply_once(&mut tx, 11, SCHEMA_V11).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Applies migration `version` unless it is recorded (versions need not arrive in order).
    async fn apply_once(tx: &mut Tx<'_>, version: i64, sql: &str) -> StoreResult<()> {
        let applied: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?)")
                .bind(version)
                .fetch_one(&mut **tx)
                .await?;
        if !applied {
            sqlx::raw_sql(sql).execute(&mut **tx).await?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?, strftime('%s','now'))",
            )
            .bind(version)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}
