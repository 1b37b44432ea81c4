//! The storage boundary of browser sign-in through upstream OpenID providers (schema version
//! 10): the pending authorization between `/v1/authorize` and the upstream's callback (single
//! use), the upstream subjects linked to accounts, and the `redirect_uri` an authorization code
//! was issued for. [`super::Store`] includes [`FederationStore`].

use async_trait::async_trait;

use super::StoreResult;

/// A `/v1/authorize` request sent upstream, waiting for the callback. Keyed by the hash of the
/// `state` sent upstream; the upstream PKCE verifier and nonce are derived from that state with
/// the server key, so nothing secret is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingAuthorization {
    pub client_id: String,
    pub redirect_uri: String,
    /// The client's PKCE S256 challenge.
    pub code_challenge: String,
    /// The scopes granted.
    pub scope: String,
    /// The client's `state` and `nonce`.
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub upstream_id: String,
    pub ip: String,
    pub user_agent: String,
    pub expires_at: u64,
}

/// Why a callback's `state` found no pending authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TakeError {
    Unknown,
    /// A callback with this state was already handled.
    Used,
    Expired,
}

#[async_trait]
pub trait FederationStore: Send + Sync + 'static {
    /// Saves a pending authorization (and forgets those expired over a day ago).
    async fn create_pending_authorization(
        &self,
        state_hash: &[u8],
        pending: &PendingAuthorization,
        now: u64,
    ) -> StoreResult<()>;
    /// Uses the pending authorization of `state_hash` once, atomically: of two callbacks with
    /// the same state, one gets it and the other `Used`.
    async fn take_pending_authorization(
        &self,
        state_hash: &[u8],
        now: u64,
    ) -> StoreResult<Result<PendingAuthorization, TakeError>>;
    /// The account linked to an upstream subject.
    async fn upstream_subject(
        &self,
        upstream_id: &str,
        issuer: &str,
        subject: &str,
    ) -> StoreResult<Option<i64>>;
    /// Links an upstream subject to an account (kept if already linked).
    async fn link_upstream_subject(
        &self,
        upstream_id: &str,
        issuer: &str,
        subject: &str,
        user_id: i64,
        now: u64,
    ) -> StoreResult<()>;
    /// Records the `redirect_uri` an authorization code was issued for.
    async fn bind_code_redirect_uri(&self, code_hash: &[u8], redirect_uri: &str)
        -> StoreResult<()>;
    /// The `redirect_uri` an authorization code was issued for (none: a native sign-in).
    async fn code_redirect_uri(&self, code_hash: &[u8]) -> StoreResult<Option<String>>;
}
