//! The storage boundary. Handlers only see [`Store`]: each method is one atomic domain operation
//! (one transaction when it changes more than one row), so a PostgreSQL implementation can be
//! added beside [`sqlite::SqliteStore`] without touching them. Secrets arrive already hashed.

pub mod credentials;
pub mod devices;
pub mod federation;
pub mod orgs;
pub mod security;
pub mod sqlite;

pub use credentials::*;
pub use devices::*;
pub use federation::*;
pub use orgs::*;
pub use security::*;

use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
#[error("storage: {0}")]
pub struct StoreError(pub String);

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub phone: Option<String>,
    pub name: String,
    /// The argon2id PHC string, when the user has a password.
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub phone: Option<String>,
    pub name: String,
    pub password_hash: Option<String>,
}

/// Password failures in a row for one account (or unknown identifier).
#[derive(Debug, Clone, Copy, Default)]
pub struct FailureState {
    pub failures: u32,
    pub locked_until: Option<u64>,
}

/// The answer to [`SignInStore::reserve_attempt`].
#[derive(Debug, Clone, Copy)]
pub enum Attempt {
    /// Counted before the check (as a failure until it proves right): the run now has `failures`
    /// attempts, this one and any still being checked included.
    Reserved(FailureState),
    /// Locked: nothing may be checked until `until`.
    Locked { until: u64 },
    /// Every attempt left is being checked right now (reserved in the last
    /// [`RESERVATION_TIMEOUT_S`] seconds): ask again once one of them is settled.
    Busy,
}

/// A reservation not settled within this many seconds (a cancelled request) counts as wrong.
pub const RESERVATION_TIMEOUT_S: u64 = 60;

/// An in-progress native sign-in (the draft's `auth_session`).
#[derive(Debug, Clone)]
pub struct AuthSession {
    pub id: i64,
    pub client_id: String,
    pub code_challenge: String,
    pub identifier: String,
    pub user_id: Option<i64>,
    pub device_recognised: bool,
    /// The step the client was last asked to do (`password`, `email_code`, ...).
    pub step: String,
    pub primary_method: Option<String>,
    pub device_verified: bool,
    pub second_factor_choice: Option<String>,
    pub second_factor: Option<String>,
    /// The code last sent for the current step.
    pub code_id: Option<i64>,
    pub ip: String,
    pub user_agent: String,
    pub expires_at: u64,
    /// The first request asked for `acr_values=mfa`: a step-up sign-in.
    pub acr_mfa: bool,
    /// The scopes granted (space-separated, as asked; `profile email phone` without `scope`).
    pub scope: String,
    /// The first request's OpenID Connect `nonce`.
    pub nonce: Option<String>,
}

/// What to send when a code is issued (absent for unknown identifiers: nothing is delivered).
#[derive(Debug, Clone)]
pub struct OutboxMessage {
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: crate::secrets::SecretString,
}

#[derive(Debug, Clone)]
pub struct IssueCode {
    /// Where the code goes (`email:...`, `phone:...`); send caps count per key.
    pub key: String,
    pub purpose: String,
    pub now: u64,
    pub expires_at: u64,
    pub max_sends: u32,
    pub send_window_s: u64,
}

#[derive(Debug)]
pub enum IssueOutcome {
    Issued {
        code_id: i64,
    },
    /// The send cap is reached; another send is possible after `retry_after` seconds.
    Capped {
        retry_after: u64,
    },
}

#[derive(Debug, PartialEq, Eq)]
pub enum CodeOutcome {
    Accepted,
    Wrong {
        attempts_left: u32,
    },
    /// Expired, used, or out of attempts.
    Dead,
}

#[derive(Debug, Clone)]
pub struct SignInEvent {
    pub user_id: i64,
    pub at: u64,
    /// `sign_in` or `identity_verification`.
    pub kind: String,
    pub method: String,
    pub factors: Vec<String>,
    pub ip: String,
    pub user_agent: String,
    /// `success`, `wrong_password`, `wrong_code`, `locked`.
    pub result: String,
}

#[derive(Debug, Clone)]
pub struct NewAuthorizationCode {
    pub hash: Vec<u8>,
    pub auth_session_id: i64,
    pub client_id: String,
    pub user_id: i64,
    pub code_challenge: String,
    pub method: String,
    pub factors: Vec<String>,
    pub issue_device_token: bool,
    pub expires_at: u64,
    pub ip: String,
    pub user_agent: String,
}

/// The tokens minted for a new session, hashed.
#[derive(Debug, Clone)]
pub struct NewTokens {
    pub access_hash: Vec<u8>,
    pub access_expires_at: u64,
    pub refresh_hash: Vec<u8>,
    pub refresh_expires_at: u64,
    pub device_token: Option<(Vec<u8>, u64)>,
}

#[derive(Debug, Clone)]
pub struct RedeemRequest {
    pub code_hash: Vec<u8>,
    pub client_id: String,
    /// S256 of the presented verifier.
    pub challenge_of_verifier: String,
    pub now: u64,
    pub tokens: NewTokens,
}

#[derive(Debug, PartialEq, Eq)]
pub enum RedeemError {
    Unknown,
    Expired,
    /// Used before: the session it created is revoked.
    Reused,
    ClientMismatch,
    VerifierMismatch,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub id: i64,
    pub user_id: i64,
    pub client_id: String,
    pub created_at: u64,
    /// The scopes its sign-in was granted.
    pub scope: String,
}

/// A session as `GET /v1/me/sessions` lists it.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub id: i64,
    pub client_id: String,
    pub method: String,
    pub factors: Vec<String>,
    pub ip: String,
    pub user_agent: String,
    pub created_at: u64,
}

/// A code exchanged: the new session, whether the request's device token was stored, and the
/// sign-in's `nonce` (for the ID token).
#[derive(Debug, Clone)]
pub struct Redeemed {
    pub session: Session,
    pub device_token_issued: bool,
    pub nonce: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum RefreshError {
    Unknown,
    Expired,
    /// A rotated-out refresh token came back: the whole family is now revoked.
    Reused,
    Revoked,
    ClientMismatch,
}

#[derive(Debug, Clone)]
pub struct TotpCredential {
    /// The active secret, when `confirmed`.
    pub secret: Vec<u8>,
    pub confirmed: bool,
    pub last_step: Option<u64>,
    /// A secret waiting for its first code (`POST /v1/me/totp/confirm`).
    pub pending: Option<Vec<u8>>,
    /// Suspended by a password reset until the user confirms it: not accepted at sign-in.
    pub suspended: bool,
}

/// What a user has enrolled as a second factor.
#[derive(Debug, Clone, Copy, Default)]
pub struct SecondFactors {
    /// A confirmed TOTP credential.
    pub totp: bool,
    pub backup_codes_left: u32,
    /// The account's phone number is verified: the `sms` and `voice` second factors reach it.
    pub verified_phone: bool,
}

#[derive(Debug, Clone)]
pub struct OutboxRecord {
    pub id: i64,
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: crate::secrets::SecretString,
    pub created_at: u64,
    pub sent_at: Option<u64>,
    pub attempts: u32,
}

/// The account (users, their sign-in history, their second factors) and, as supertraits, the
/// store of every other aggregate: what the handlers see.
#[async_trait]
pub trait Store:
    DeviceStore
    + CredentialStore
    + OrgStore
    + FederationStore
    + PushStore
    + SecurityStore
    + SignInStore
    + TokenStore
    + OutboxStore
    + Send
    + Sync
    + 'static
{
    /// The key codes are HMACed with: derived from the server key outside the database (see
    /// `keys.rs`), never stored in it in the clear.
    async fn server_key(&self) -> StoreResult<Vec<u8>>;

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>>;
    async fn user_by_phone(&self, phone: &str) -> StoreResult<Option<User>>;
    async fn user(&self, id: i64) -> StoreResult<Option<User>>;
    /// Creates the user unless the email exists (seeding is idempotent); returns its id.
    async fn ensure_user(&self, user: NewUser) -> StoreResult<i64>;

    async fn record_sign_in_event(&self, event: SignInEvent) -> StoreResult<()>;
    async fn sign_in_events(&self, user_id: i64, limit: u32) -> StoreResult<Vec<SignInEvent>>;

    async fn totp(&self, user_id: i64) -> StoreResult<Option<TotpCredential>>;
    /// The second factors the user can use now, in one look-up.
    async fn second_factors(&self, user_id: i64) -> StoreResult<SecondFactors>;
    /// Replaces any unconfirmed credential with a new pending one (a confirmed one stays active).
    async fn start_totp(&self, user_id: i64, secret: &[u8], now: u64) -> StoreResult<()>;
    /// Activates the pending credential, recording `step` as used.
    async fn confirm_totp(&self, user_id: i64, step: u64) -> StoreResult<bool>;
    /// Records `step` as used if it is newer than the last accepted one (replay guard).
    async fn accept_totp_step(&self, user_id: i64, step: u64) -> StoreResult<bool>;
    /// Marks the account's phone number verified at `now` (dev seeding; later the add-a-phone
    /// flow): from then on it is a second factor (`sms`, `voice`).
    async fn verify_phone(&self, user_id: i64, now: u64) -> StoreResult<()>;
    /// Installs an active credential directly (dev seeding).
    async fn seed_totp(&self, user_id: i64, secret: &[u8], now: u64) -> StoreResult<()>;

    /// Replaces every backup code of the user.
    async fn replace_backup_codes(
        &self,
        user_id: i64,
        hashes: Vec<Vec<u8>>,
        now: u64,
    ) -> StoreResult<()>;
    async fn backup_codes_left(&self, user_id: i64) -> StoreResult<u32>;
    /// Uses a backup code once; false when unknown or already used.
    async fn use_backup_code(&self, user_id: i64, hash: &[u8], now: u64) -> StoreResult<bool>;
}

/// A sign-in in progress: the failed-attempt lockout, auth sessions, one-time codes, and the
/// authorization code that ends it.
#[async_trait]
pub trait SignInStore: Send + Sync + 'static {
    async fn clear_password_failures(&self, key: &str) -> StoreResult<()>;
    /// Counts one attempt for `key` *before* its credential is checked, atomically (one write
    /// transaction): `Locked` while `key` is locked; `Busy` when the run already holds `max`
    /// attempts and some are still being checked (none is refused for good on their account);
    /// otherwise counted. A right credential then ends the run
    /// ([`SignInStore::clear_password_failures`]), a wrong one is settled with
    /// [`SignInStore::settle_wrong_attempt`]; a reservation never settled stays counted and,
    /// after [`RESERVATION_TIMEOUT_S`], locks like a wrong one.
    async fn reserve_attempt(
        &self,
        key: &str,
        now: u64,
        max: u32,
        lock_s: u64,
    ) -> StoreResult<Attempt>;
    /// A reserved attempt turned out wrong: it stays counted, and locks `key` for `lock_s` when
    /// the run has `max` attempts. Returns the run as it now stands.
    async fn settle_wrong_attempt(
        &self,
        key: &str,
        now: u64,
        max: u32,
        lock_s: u64,
    ) -> StoreResult<FailureState>;

    /// Saves a new auth session as it stands (every step field); returns its id.
    async fn create_auth_session(
        &self,
        token_hash: &[u8],
        session: &AuthSession,
    ) -> StoreResult<i64>;
    /// The active, unexpired session for a token, with its user.
    async fn auth_session(
        &self,
        token_hash: &[u8],
        now: u64,
    ) -> StoreResult<Option<(AuthSession, Option<User>)>>;
    async fn update_auth_session(&self, session: &AuthSession) -> StoreResult<()>;

    /// Issues a code (older live codes for the same key and purpose die) and queues its message,
    /// unless the send cap for `key` is reached. `hash_of` gets the new code id and returns the
    /// stored hash (codes are hashed with their id).
    async fn issue_code(
        &self,
        issue: IssueCode,
        hash_of: Box<dyn FnOnce(i64) -> Vec<u8> + Send>,
        message: Option<OutboxMessage>,
    ) -> StoreResult<IssueOutcome>;
    /// The newest live code of `key` for `purpose`.
    async fn latest_code(&self, key: &str, purpose: &str, now: u64) -> StoreResult<Option<i64>>;
    /// One attempt at code `code_id`; on success the code is used up.
    async fn attempt_code(
        &self,
        code_id: i64,
        candidate_hash: &[u8],
        now: u64,
        max_attempts: u32,
    ) -> StoreResult<CodeOutcome>;
    /// When the last code for `key`/`purpose` was sent.
    async fn last_code_sent_at(&self, key: &str, purpose: &str) -> StoreResult<Option<u64>>;

    /// Ends an auth session with an authorization code and a history entry, atomically.
    async fn complete_sign_in(
        &self,
        code: NewAuthorizationCode,
        event: SignInEvent,
    ) -> StoreResult<()>;
}

/// Sessions and their tokens: authorization codes exchanged, refresh tokens rotated, access
/// tokens looked up, revocation, device tokens.
#[async_trait]
pub trait TokenStore: Send + Sync + 'static {
    /// Exchanges an authorization code for a new session, atomically; also says whether the
    /// request's device token was stored (the code asked for one).
    async fn redeem_authorization_code(
        &self,
        request: RedeemRequest,
    ) -> StoreResult<Result<Redeemed, RedeemError>>;
    /// Rotates a refresh token: the old one is retired, new access + refresh tokens issued.
    async fn rotate_refresh_token(
        &self,
        old_hash: &[u8],
        client_id: &str,
        now: u64,
        tokens: NewTokens,
    ) -> StoreResult<Result<Session, RefreshError>>;
    /// The live session an access token belongs to.
    async fn session_for_access_token(&self, hash: &[u8], now: u64)
        -> StoreResult<Option<Session>>;
    /// Revokes the session an access or refresh token belongs to; false when unknown.
    async fn revoke_token(&self, hash: &[u8], now: u64) -> StoreResult<bool>;
    async fn revoke_session(&self, session_id: i64, now: u64) -> StoreResult<()>;
    async fn revoke_all_sessions(&self, user_id: i64, now: u64) -> StoreResult<u64>;
    /// The user's sessions not revoked and created after `created_after`, newest first.
    async fn active_sessions(
        &self,
        user_id: i64,
        created_after: u64,
    ) -> StoreResult<Vec<SessionInfo>>;
    /// Ends the user's session `session_id`; false when it is not theirs or already ended.
    async fn revoke_user_session(
        &self,
        user_id: i64,
        session_id: i64,
        now: u64,
    ) -> StoreResult<bool>;
    async fn device_token_valid(&self, user_id: i64, hash: &[u8], now: u64) -> StoreResult<bool>;
    /// Refuses every authorization code of the user not exchanged yet (a logout-all or a
    /// password reset: a code issued before it must not open a new session). Returns how many.
    async fn revoke_unused_authorization_codes(&self, user_id: i64, now: u64) -> StoreResult<u64>;
    /// Whether this authorization code was refused by
    /// [`TokenStore::revoke_unused_authorization_codes`].
    async fn authorization_code_revoked(&self, code_hash: &[u8]) -> StoreResult<bool>;
    /// When the session of a refresh token began (its sign-in), whatever the token's state.
    async fn refresh_token_session_start(&self, hash: &[u8]) -> StoreResult<Option<u64>>;
    /// The client an access or refresh token was issued to.
    async fn token_client(&self, hash: &[u8]) -> StoreResult<Option<String>>;
}

/// Messages waiting to be mailed or texted.
#[async_trait]
pub trait OutboxStore: Send + Sync + 'static {
    async fn pending_messages(&self, limit: u32) -> StoreResult<Vec<OutboxRecord>>;
    /// Marks messages delivered; they are deleted unless `keep_body` (dev mode, for /dev/outbox).
    async fn mark_messages_sent(&self, ids: &[i64], now: u64, keep_body: bool) -> StoreResult<()>;
    async fn mark_message_failed(&self, id: i64) -> StoreResult<()>;
    /// Deletes messages created before `created_before` (their codes are dead), delivered or
    /// not, and those that failed for good; returns how many.
    async fn expire_messages(&self, created_before: u64) -> StoreResult<u64>;
    /// The newest `limit` messages (to `recipient` when given), oldest first.
    async fn messages(&self, recipient: Option<&str>, limit: u32)
        -> StoreResult<Vec<OutboxRecord>>;
}
