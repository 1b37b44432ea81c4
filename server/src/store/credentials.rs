//! The storage boundary for credentials of clients that cannot run the sign-in (schema version
//! 11): app passwords and the API security token, and the session a `grant_type=password` opens.
//! [`super::Store`] includes [`CredentialStore`].

use async_trait::async_trait;

use super::security::Noted;
use super::{NewTokens, Session, SignInEvent, StoreResult};

/// An app password as listed (never the password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppPasswordRecord {
    pub id: i64,
    pub name: String,
    pub created_at: u64,
    pub last_used_at: Option<u64>,
}

/// What a presented app password turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppPasswordUse {
    /// Active: its `last_used_at` is now `now`.
    Used,
    /// Revoked (by the user or a logout-all).
    Revoked,
    Unknown,
}

/// What a presented security token turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityTokenMatch {
    Current,
    /// The one a reset replaced.
    Previous,
    Unknown,
}

/// A session opened without a sign-in flow (`grant_type=password`).
#[derive(Debug, Clone)]
pub struct NewSession {
    pub user_id: i64,
    pub client_id: String,
    pub method: String,
    pub factors: Vec<String>,
    pub ip: String,
    pub user_agent: String,
    pub now: u64,
}

#[async_trait]
pub trait CredentialStore: Send + Sync + 'static {
    /// Stores a new app password's HMAC and records `noted`, atomically; returns its id.
    async fn create_app_password(
        &self,
        user_id: i64,
        name: &str,
        hash: &[u8],
        now: u64,
        noted: Noted,
    ) -> StoreResult<i64>;
    /// The user's app passwords not revoked, oldest first.
    async fn app_passwords(&self, user_id: i64) -> StoreResult<Vec<AppPasswordRecord>>;
    /// Revokes one of the user's app passwords and records `noted`; false (nothing written) when
    /// it is unknown, another user's or already revoked.
    async fn revoke_app_password(
        &self,
        user_id: i64,
        id: i64,
        now: u64,
        noted: Noted,
    ) -> StoreResult<bool>;
    /// Revokes every app password of the user; returns how many.
    async fn revoke_all_app_passwords(&self, user_id: i64, now: u64) -> StoreResult<u64>;
    /// Looks up an app password of the user by its HMAC; an active one is marked used at `now`.
    async fn use_app_password(
        &self,
        user_id: i64,
        hash: &[u8],
        now: u64,
    ) -> StoreResult<AppPasswordUse>;

    /// Replaces the user's security token (the current one becomes the previous one) and records
    /// `noted`, whose mail carries the new token, atomically.
    async fn reset_security_token(
        &self,
        user_id: i64,
        hash: &[u8],
        now: u64,
        noted: Noted,
    ) -> StoreResult<()>;
    /// Which of the user's security tokens has the HMAC `hash`.
    async fn match_security_token(
        &self,
        user_id: i64,
        hash: &[u8],
    ) -> StoreResult<SecurityTokenMatch>;

    /// Opens a session with its tokens and records `event` (the use in the history), atomically.
    async fn open_session(
        &self,
        session: NewSession,
        tokens: NewTokens,
        event: SignInEvent,
    ) -> StoreResult<Session>;
}
