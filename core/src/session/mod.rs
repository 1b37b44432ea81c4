//! A signed-in session: the access token for API calls, refreshed before it expires and at most
//! once at a time (N concurrent callers wait for one refresh), plus what a signed-in user can do:
//! read the account (`account.rs`: user info, history, security events, devices), change its
//! security information (`security.rs`: second factors, authenticators, the password), log out
//! and log out everywhere (here).
//!
//! Security changes (an authenticator or TOTP, backup codes, removing a device or factor, the
//! password) need a recent sign-in with a second factor: the server refuses them otherwise with
//! [`ClientError::StepUpRequired`]. [`Session::step_up`] (in `signin/step_up.rs`) starts that
//! sign-in for the same user (the ordinary [`crate::signin::SignIn`] flow, asking the server for
//! `acr_values=mfa`); it ends in a fresh session that replaces this one.
//!
//! Tokens live only in the [`SecureStore`]; memory holds them zeroized on drop. A refresh token the
//! server refuses (reused, revoked, expired) ends the session: [`Session::state`] turns to
//! [`SessionState::Ended`] and the tokens are deleted.
//!
//! Answers are read into the protocol crate's types (`authcore_protocol`) and converted into the
//! records below, which are what apps see.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use authcore_protocol as wire;
use authcore_protocol::devices::EnrollmentStatus as WireStatus;
use authcore_protocol::tokens::{param, GrantType, Tokens};
use serde::{Deserialize, Serialize};
use tokio::sync::{watch, Mutex};
use zeroize::Zeroizing;

use crate::api::Api;
use crate::app::App;
use crate::error::ClientError;
use crate::http::Request;
use crate::sensitive::Sensitive;
use crate::store::SecureStore;
use crate::timestamp::Timestamp;

mod account;
mod logout;
mod security;
#[cfg(test)]
mod tests;

/// Refresh this many seconds before the access token expires (at most a quarter of its life).
const REFRESH_MARGIN_S: u64 = 60;

/// What the app can observe about a session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SessionState {
    Active,
    Ended { reason: EndReason },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum EndReason {
    /// `logout()` or `logout_everywhere()` on this device.
    LoggedOut,
    /// The server refused the refresh token: revoked elsewhere (log out everywhere, password
    /// reset), reused (a stolen copy was used), or expired.
    Revoked,
    /// A step-up sign-in ([`Session::step_up`]) completed: use the session it ended in.
    Replaced,
}

/// One entry of the sign-in history (`GET /v1/me/sign-ins`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SignInRecord {
    pub at: Timestamp,
    /// `sign_in`, `identity_verification`, `enrollment` or `security_event` (then `method` is
    /// the event's kind, e.g. `authenticator_added`, and `factors` may be empty).
    pub kind: String,
    pub method: String,
    pub factors: Vec<String>,
    pub ip: String,
    pub user_agent: String,
    /// `success`, `wrong_password`, `wrong_code`, `replayed_code`, `locked`...
    pub result: String,
}

impl From<wire::account::SignInEntry> for SignInRecord {
    fn from(entry: wire::account::SignInEntry) -> Self {
        SignInRecord {
            at: Timestamp::from_unix_seconds(entry.at),
            kind: entry.kind,
            method: entry.method,
            factors: entry.factors,
            ip: entry.ip,
            user_agent: entry.user_agent,
            result: entry.result,
        }
    }
}

/// One change to the account's security information (`GET /v1/me/security-events`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SecurityEvent {
    pub at: Timestamp,
    /// `authenticator_added`, `device_removed`, `totp_added`, `totp_removed`,
    /// `backup_codes_regenerated`, `password_changed`, `password_reset`, `factors_suspended`,
    /// `factor_confirmed`...
    pub kind: String,
    /// What changed, in words ("Dave's Pixel"); empty when the server gives none.
    pub detail: String,
    pub ip: String,
    pub user_agent: String,
}

impl From<wire::account::SecurityEvent> for SecurityEvent {
    fn from(event: wire::account::SecurityEvent) -> Self {
        SecurityEvent {
            at: Timestamp::from_unix_seconds(event.at),
            kind: event.kind,
            detail: event.detail,
            ip: event.ip,
            user_agent: event.user_agent,
        }
    }
}

/// An authenticator enrollment started from a signed-in session (`POST /v1/me/authenticators`):
/// show the QR code (and for "Can't scan image?" the activation code and the server URL), then
/// follow it with [`Session::authenticator_enrollment`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatorEnrollment {
    pub enrollment_id: String,
    pub qr_payload: Sensitive,
    pub activation_code: Sensitive,
    pub server_url: String,
    pub label: String,
    pub expires_at: Timestamp,
}

/// Where an enrollment started with [`Session::add_authenticator`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum EnrollmentStatus {
    /// The QR code is shown; the phone has not activated yet.
    WaitingForDevice,
    /// The phone activated: show `number`, the user enters it on the phone.
    ApproveTest {
        number: String,
        expires_at: Timestamp,
    },
    /// The authenticator joined the account.
    Completed { device_id: String },
    /// `denied`, `number_mismatch`, `fraud_reported`, `expired` or `replaced`.
    Failed { reason: String },
    /// The activation code ran out unused.
    Expired,
}

impl EnrollmentStatus {
    /// The status as the server names it (what a long-poll waits on).
    fn wire(&self) -> WireStatus {
        match self {
            EnrollmentStatus::WaitingForDevice => WireStatus::WaitingForDevice,
            EnrollmentStatus::ApproveTest { .. } => WireStatus::ApproveTest,
            EnrollmentStatus::Completed { .. } => WireStatus::Completed,
            EnrollmentStatus::Failed { .. } => WireStatus::Failed,
            EnrollmentStatus::Expired => WireStatus::Expired,
        }
    }
}

impl TryFrom<wire::devices::Enrollment> for EnrollmentStatus {
    type Error = ClientError;

    fn try_from(answer: wire::devices::Enrollment) -> Result<Self, ClientError> {
        Ok(match answer.status {
            WireStatus::WaitingForDevice => EnrollmentStatus::WaitingForDevice,
            WireStatus::ApproveTest => {
                let test = answer
                    .test
                    .ok_or_else(|| ClientError::protocol("approve_test without test"))?;
                EnrollmentStatus::ApproveTest {
                    number: test.number,
                    expires_at: Timestamp::from_unix_seconds(test.expires_at),
                }
            }
            WireStatus::Completed => EnrollmentStatus::Completed {
                device_id: answer.device_id.unwrap_or_default(),
            },
            WireStatus::Failed => EnrollmentStatus::Failed {
                reason: answer.reason.unwrap_or_default(),
            },
            WireStatus::Expired => EnrollmentStatus::Expired,
            WireStatus::Unknown => return Err(ClientError::protocol("unknown enrollment status")),
        })
    }
}

/// `GET /v1/userinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct UserInfo {
    pub sub: String,
    pub email: String,
    pub name: String,
    pub phone_number: Option<String>,
}

impl From<wire::account::UserInfo> for UserInfo {
    fn from(info: wire::account::UserInfo) -> Self {
        UserInfo {
            sub: info.sub,
            email: info.email,
            name: info.name,
            phone_number: info.phone_number,
        }
    }
}

/// An authenticator device registered to the user (`GET /v1/me/devices`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Device {
    pub device_id: String,
    pub display_name: String,
    pub platform: String,
    pub user_verification: bool,
    /// The server has an OS push token for it (FCM/APNs): pushes wake it.
    pub push_enabled: bool,
    /// `pending` (test approval not done), `active`, or `suspended` (by a password reset, until
    /// confirmed or removed).
    pub state: String,
    pub created_at: Timestamp,
    pub last_seen_at: Option<Timestamp>,
}

impl From<wire::devices::DeviceView> for Device {
    fn from(device: wire::devices::DeviceView) -> Self {
        Device {
            device_id: device.device_id,
            display_name: device.display_name,
            platform: device.platform,
            user_verification: device.user_verification,
            push_enabled: device.push_enabled,
            state: device.state,
            created_at: Timestamp::from_unix_seconds(device.created_at),
            last_seen_at: device.last_seen_at.map(Timestamp::from_unix_seconds),
        }
    }
}

/// One of the user's active sessions (`GET /v1/me/sessions`): where and how it signed in.
/// (Not across the FFI yet: the bindings have no account page.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveSession {
    /// What [`Session::revoke_session`] takes.
    pub id: String,
    /// The app's name ("Authcore Demo"), from the server's configuration.
    pub client_name: String,
    pub method: String,
    pub factors: Vec<String>,
    pub ip: String,
    /// Short form ("Chrome on macOS"); empty when unknown.
    pub user_agent: String,
    pub created_at: Timestamp,
    /// The end of its lifetime; refreshing does not extend it.
    pub expires_at: Timestamp,
    /// This session.
    pub current: bool,
}

impl From<wire::account::ActiveSession> for ActiveSession {
    fn from(s: wire::account::ActiveSession) -> Self {
        ActiveSession {
            id: s.id,
            client_name: s.client_name,
            method: s.method,
            factors: s.factors,
            ip: s.ip,
            user_agent: s.user_agent,
            created_at: Timestamp::from_unix_seconds(s.created_at),
            expires_at: Timestamp::from_unix_seconds(s.expires_at),
            current: s.current,
        }
    }
}

/// What "log out everywhere" answered: how many sessions ended, and the authenticators added in
/// the last days (`security.reset_review_days`), so the app can offer "remove these".
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct LoggedOutEverywhere {
    pub revoked_sessions: u64,
    pub recent_devices: Vec<RecentDevice>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RecentDevice {
    pub device_id: String,
    pub display_name: String,
    pub created_at: Timestamp,
}

impl From<wire::tokens::LoggedOutEverywhere> for LoggedOutEverywhere {
    fn from(answer: wire::tokens::LoggedOutEverywhere) -> Self {
        LoggedOutEverywhere {
            revoked_sessions: answer.revoked_sessions,
            recent_devices: answer
                .recent_devices
                .into_iter()
                .map(|device| RecentDevice {
                    device_id: device.device_id,
                    display_name: device.display_name,
                    created_at: Timestamp::from_unix_seconds(device.created_at),
                })
                .collect(),
        }
    }
}

/// Backup codes, shown once. `Debug` shows only how many.
#[derive(Clone, PartialEq, Eq)]
pub struct BackupCodes(pub Vec<String>);

impl std::fmt::Debug for BackupCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BackupCodes({} codes)", self.0.len())
    }
}

/// A pending TOTP credential: put it in an authenticator app, then `confirm_totp(code)`.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpEnrollment {
    pub otpauth_uri: String,
}

impl std::fmt::Debug for TotpEnrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpEnrollment(<redacted>)")
    }
}

/// What the store keeps for a session.
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredTokens {
    pub server: String,
    pub session_id: String,
    pub access_token: String,
    /// When to refresh proactively: shortly before the access token expires.
    pub refresh_at: u64,
    pub refresh_token: String,
}

impl Drop for StoredTokens {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.access_token.zeroize();
        self.refresh_token.zeroize();
    }
}

impl StoredTokens {
    pub fn from_answer(server: &str, answer: &Tokens, now: u64) -> StoredTokens {
        StoredTokens {
            server: server.to_owned(),
            session_id: answer.session_id.clone(),
            access_token: answer.access_token.clone(),
            refresh_at: now + answer.expires_in - REFRESH_MARGIN_S.min(answer.expires_in / 4),
            refresh_token: answer.refresh_token.clone(),
        }
    }
}

/// A signed-in session. Cheap to clone; clones share tokens and state.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

struct Inner {
    api: Api,
    store: Arc<dyn SecureStore>,
    store_key: String,
    session_id: String,
    /// `None` once ended. The lock is what makes refresh single-flight.
    tokens: Mutex<Option<StoredTokens>>,
    state: watch::Sender<SessionState>,
    refreshes: AtomicU64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("server", &self.inner.api.base())
            .field("session_id", &self.inner.session_id)
            .field("state", &*self.inner.state.borrow())
            .finish_non_exhaustive()
    }
}

impl PartialEq for Session {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for Session {}

pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Session {
    /// A session over tokens already saved in `store` under `store_key`.
    pub(crate) fn new(
        api: Api,
        store: Arc<dyn SecureStore>,
        store_key: String,
        tokens: StoredTokens,
    ) -> Session {
        Session {
            inner: Arc::new(Inner {
                api,
                store,
                store_key,
                session_id: tokens.session_id.clone(),
                tokens: Mutex::new(Some(tokens)),
                state: watch::channel(SessionState::Active).0,
                refreshes: AtomicU64::new(0),
            }),
        }
    }

    pub(crate) fn save(
        store: &dyn SecureStore,
        key: &str,
        tokens: &StoredTokens,
    ) -> Result<(), ClientError> {
        let bytes = Zeroizing::new(
            serde_json::to_vec(tokens)
                .map_err(|_| ClientError::protocol("tokens could not be encoded"))?,
        );
        store.put(key, &bytes)?;
        Ok(())
    }

    pub(crate) fn load(
        store: &dyn SecureStore,
        key: &str,
    ) -> Result<Option<StoredTokens>, ClientError> {
        let Some(bytes) = store.get(key)? else {
            return Ok(None);
        };
        let bytes = Zeroizing::new(bytes);
        // An entry we cannot read is not silently dropped: it stays until a new sign-in replaces it.
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|_| ClientError::protocol("the saved session could not be read"))
    }

    /// The server this session belongs to (`https://host[:port]`).
    pub fn server(&self) -> &str {
        self.inner.api.base()
    }

    pub fn session_id(&self) -> &str {
        &self.inner.session_id
    }

    pub fn state(&self) -> SessionState {
        self.inner.state.borrow().clone()
    }

    /// Resolves when the state changes; for apps that show "you were signed out".
    pub fn watch_state(&self) -> watch::Receiver<SessionState> {
        self.inner.state.subscribe()
    }

    /// How many refreshes this session made (diagnostics for apps and tests).
    pub fn refresh_count(&self) -> u64 {
        self.inner.refreshes.load(Ordering::Relaxed)
    }

    /// A valid access token, refreshing first when it is about to expire. Concurrent callers
    /// share one refresh.
    pub async fn access_token(&self) -> Result<Zeroizing<String>, ClientError> {
        let mut guard = self.inner.tokens.lock().await;
        let tokens = guard.as_ref().ok_or(ClientError::SessionEnded)?;
        if now() < tokens.refresh_at {
            return Ok(Zeroizing::new(tokens.access_token.clone()));
        }
        self.refresh_locked(&mut guard).await
    }

    /// Refreshes unless another caller already replaced `stale` (single flight for callers that
    /// all saw the same token refused).
    async fn refresh_after(&self, stale: &str) -> Result<Zeroizing<String>, ClientError> {
        let mut guard = self.inner.tokens.lock().await;
        let tokens = guard.as_ref().ok_or(ClientError::SessionEnded)?;
        if tokens.access_token != stale {
            return Ok(Zeroizing::new(tokens.access_token.clone()));
        }
        self.refresh_locked(&mut guard).await
    }

    async fn refresh_locked(
        &self,
        guard: &mut Option<StoredTokens>,
    ) -> Result<Zeroizing<String>, ClientError> {
        let refresh_token = match guard.as_ref() {
            Some(tokens) => Zeroizing::new(tokens.refresh_token.clone()),
            None => return Err(ClientError::SessionEnded),
        };
        self.inner.refreshes.fetch_add(1, Ordering::Relaxed);
        let answer = self
            .inner
            .api
            .token(vec![
                (
                    param::GRANT_TYPE,
                    GrantType::RefreshToken.as_str().to_owned(),
                ),
                (param::REFRESH_TOKEN, refresh_token.to_string()),
            ])
            .await;
        match answer {
            Ok(answer) => {
                let tokens = StoredTokens::from_answer(self.inner.api.base(), &answer, now());
                Session::save(&*self.inner.store, &self.inner.store_key, &tokens)?;
                let access = Zeroizing::new(tokens.access_token.clone());
                *guard = Some(tokens);
                Ok(access)
            }
            Err(ClientError::SessionEnded) => {
                self.end_locked(guard, EndReason::Revoked)?;
                Err(ClientError::SessionEnded)
            }
            Err(other) => Err(other),
        }
    }

    fn end_locked(
        &self,
        guard: &mut Option<StoredTokens>,
        reason: EndReason,
    ) -> Result<(), ClientError> {
        *guard = None;
        self.inner.store.delete(&self.inner.store_key)?;
        self.inner
            .state
            .send_replace(SessionState::Ended { reason });
        Ok(())
    }

    /// Sends `make()` with the access token; when the server refuses the token (expired early,
    /// server clock ahead), refreshes once and sends again.
    pub(super) async fn authorized<T: serde::de::DeserializeOwned>(
        &self,
        make: impl Fn() -> Request,
        expected: u16,
    ) -> Result<T, ClientError> {
        let token = self.access_token().await?;
        match self.inner.api.call(make(), Some(&token), expected).await {
            Err(ClientError::SessionEnded) => {
                let fresh = self.refresh_after(&token).await?;
                self.inner.api.call(make(), Some(&fresh), expected).await
            }
            other => other,
        }
    }

    /// This session's app at its server, for the sign-in that steps it up ([`Session::step_up`]).
    pub(crate) fn app(&self) -> App {
        App {
            api: self.inner.api.clone(),
            store: self.inner.store.clone(),
        }
    }

    /// A step-up sign-in is about to save a new session under this one's key: forget these
    /// tokens (waiting for a refresh in flight, so it cannot overwrite the new ones afterwards)
    /// without touching the store. Answers the refresh token to revoke once the new session is
    /// saved.
    pub(crate) async fn retire(&self) -> Option<Zeroizing<String>> {
        let mut guard = self.inner.tokens.lock().await;
        let tokens = guard.take()?;
        self.inner.state.send_replace(SessionState::Ended {
            reason: EndReason::Replaced,
        });
        Some(Zeroizing::new(tokens.refresh_token.clone()))
    }

    /// Revokes a retired refresh token on the server, best-effort (RFC 7009).
    pub(crate) async fn revoke_retired(&self, refresh: Zeroizing<String>) {
        let _ = self.inner.api.revoke(&refresh).await;
    }
}
