//! The storage boundary for step-up and security information (schema version 4): how a session
//! signed in, security events, password changes, the review of factors added shortly before a
//! password reset, and the pending-enrollment cap. [`super::Store`] includes [`SecurityStore`].

use async_trait::async_trait;

use super::devices::{Device, NewEnrollment};
use super::{OutboxMessage, StoreResult};

/// How and when a session signed in (RFC 9470 `auth_time`, `amr`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionAuth {
    /// When the sign-in that created the session completed.
    pub auth_time: u64,
    /// The factors it used (`password`, `email_verification`, `totp`, ...).
    pub factors: Vec<String>,
}

/// A change of a user's security information.
#[derive(Debug, Clone)]
pub struct SecurityEvent {
    pub user_id: i64,
    pub at: u64,
    /// `authenticator_added`, `device_removed`, `totp_added`, `totp_replaced`, `totp_removed`,
    /// `backup_codes_regenerated`, `password_changed`, `password_reset`, `factors_suspended`,
    /// `factor_confirmed`.
    pub kind: String,
    /// What changed, for a person ("Dave's Pixel"); never a secret.
    pub detail: String,
    /// The factors of the session that made the change (empty for a password reset).
    pub factors: Vec<String>,
    pub ip: String,
    pub user_agent: String,
}

/// A security event and its mail, written in the same transaction as the change they record.
#[derive(Debug, Clone)]
pub struct Noted {
    pub event: SecurityEvent,
    pub mail: Option<OutboxMessage>,
}

/// Builds the events of a password reset once it is known what the reset suspended.
pub type ResetNotes = Box<dyn FnOnce(&Suspended) -> Vec<Noted> + Send>;

/// What a password reset suspended: devices and a TOTP credential added in the review window.
#[derive(Debug, Clone, Default)]
pub struct Suspended {
    pub devices: Vec<Device>,
    pub totp: bool,
}

/// Why an enrollment was not created.
#[derive(Debug, PartialEq, Eq)]
pub enum EnrollmentRefusal {
    /// The user has `max` unexpired pending enrollments; one expires in `retry_after` seconds.
    Capped { retry_after: u64 },
}

#[async_trait]
pub trait SecurityStore: Send + Sync + 'static {
    /// How the session signed in; `None` when it does not exist.
    async fn session_auth(&self, session_id: i64) -> StoreResult<Option<SessionAuth>>;

    /// Records a security event and queues its notification, in one transaction.
    async fn record_security_event(&self, noted: Noted) -> StoreResult<()>;
    /// The user's newest `limit` security events, newest first.
    async fn security_events(&self, user_id: i64, limit: u32) -> StoreResult<Vec<SecurityEvent>>;

    /// Sets a new password, revokes every other session of the user, clears the lockout and
    /// records `noted` (given how many sessions were revoked), atomically; returns that number.
    async fn change_password(
        &self,
        user_id: i64,
        password_hash: &str,
        failure_key: &str,
        keep_session: i64,
        now: u64,
        noted: Box<dyn FnOnce(u64) -> Noted + Send>,
    ) -> StoreResult<u64>;

    /// A password reset: the new password, every session revoked and the lockout cleared, plus
    /// the devices and the TOTP credential added since `review_since` suspended and the events
    /// `notes` builds recorded, atomically; returns what it suspended.
    async fn reset_password_with_review(
        &self,
        user_id: i64,
        password_hash: &str,
        failure_key: &str,
        now: u64,
        review_since: u64,
        notes: ResetNotes,
    ) -> StoreResult<Suspended>;
    /// Lifts the suspension of a device and records `noted`; false (nothing written) when it is
    /// not the user's or not suspended.
    async fn confirm_device(
        &self,
        user_id: i64,
        device_id: &str,
        now: u64,
        noted: Noted,
    ) -> StoreResult<bool>;
    /// Lifts the suspension of the TOTP credential and records `noted`; false (nothing written)
    /// when it is not suspended.
    async fn confirm_suspended_totp(
        &self,
        user_id: i64,
        now: u64,
        noted: Noted,
    ) -> StoreResult<bool>;
    /// [`super::Store::confirm_totp`], also recording when (`now`) and `noted`: the new secret
    /// replaces any active one, unsuspended. False (nothing written) when nothing was pending.
    async fn confirm_totp_at(
        &self,
        user_id: i64,
        step: u64,
        now: u64,
        noted: Noted,
    ) -> StoreResult<bool>;
    /// Whether the user had, before `at`, a second factor still usable now: an active,
    /// unsuspended device activated (and confirmed after a reset) before then, a confirmed,
    /// unsuspended TOTP credential confirmed before then, unused backup codes created before
    /// then, or a phone number verified before then. (Within the same second a factor counts as added after.)
    async fn had_second_factor(&self, user_id: i64, at: u64) -> StoreResult<bool>;
    /// Removes the TOTP credential (active and pending) and records `noted`; false (nothing
    /// written) when there was none.
    async fn remove_totp(&self, user_id: i64, noted: Noted) -> StoreResult<bool>;
    /// [`super::Store::replace_backup_codes`] and `noted`, atomically.
    async fn regenerate_backup_codes(
        &self,
        user_id: i64,
        hashes: Vec<Vec<u8>>,
        now: u64,
        noted: Noted,
    ) -> StoreResult<()>;
    /// Removes a device (it can no longer sign requests; its nonces go) and records `noted`,
    /// atomically; false (nothing written) when the device is unknown.
    async fn remove_device_noted(
        &self,
        user_id: i64,
        device_id: &str,
        now: u64,
        noted: Noted,
    ) -> StoreResult<bool>;
    /// The user's devices (not removed) registered at or after `since`, oldest first.
    async fn devices_added_since(&self, user_id: i64, since: u64) -> StoreResult<Vec<Device>>;

    /// Creates an enrollment unless the user already has `max_pending` unexpired, unused ones
    /// (counted and inserted in one transaction: concurrent requests never exceed the cap).
    async fn create_enrollment_capped(
        &self,
        enrollment: NewEnrollment,
        max_pending: u32,
    ) -> StoreResult<Result<i64, EnrollmentRefusal>>;
}
