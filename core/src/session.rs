//! A signed-in session: the access token for API calls, refreshed before it expires and at most
//! once at a time (N concurrent callers wait for one refresh), plus what a signed-in user can do
//! (history, log out, log out everywhere, second-factor enrollment).
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

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::{watch, Mutex};
use zeroize::Zeroizing;

use crate::api::{Api, TokenAnswer};
use crate::app::App;
use crate::error::ClientError;
use crate::http::Request;
use crate::sensitive::Sensitive;
use crate::store::SecureStore;

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
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SignInRecord {
    pub at: u64,
    /// `sign_in`, `identity_verification`, `enrollment` or `security_event` (then `method` is
    /// the event's kind, e.g. `authenticator_added`, and `factors` may be empty).
    pub kind: String,
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub factors: Vec<String>,
    #[serde(default)]
    pub ip: String,
    #[serde(default)]
    pub user_agent: String,
    /// `success`, `wrong_password`, `wrong_code`, `replayed_code`, `locked`...
    #[serde(default)]
    pub result: String,
}

/// One change to the account's security information (`GET /v1/me/security-events`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SecurityEvent {
    /// Unix seconds.
    pub at: u64,
    /// `authenticator_added`, `device_removed`, `totp_added`, `totp_removed`,
    /// `backup_codes_regenerated`, `password_changed`, `password_reset`, `factors_suspended`,
    /// `factor_confirmed`...
    pub kind: String,
    /// What changed, in words ("Dave's Pixel"); empty when the server gives none.
    #[serde(default, deserialize_with = "text_or_null")]
    pub detail: String,
    #[serde(default)]
    pub ip: String,
    #[serde(default)]
    pub user_agent: String,
}

fn text_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    // `detail` may be a string, null, or a small object: shown as text either way.
    let value = serde_json::Value::deserialize(d)?;
    Ok(match value {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(text) => text,
        other => other.to_string(),
    })
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
    /// Unix seconds.
    pub expires_at: u64,
}

/// Where an enrollment started with [`Session::add_authenticator`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum EnrollmentStatus {
    /// The QR code is shown; the phone has not activated yet.
    WaitingForDevice,
    /// The phone activated: show `number`, the user enters it on the phone.
    ApproveTest { number: String, expires_at: u64 },
    /// The authenticator joined the account.
    Completed { device_id: String },
    /// `denied`, `number_mismatch`, `fraud_reported`, `expired` or `replaced`.
    Failed { reason: String },
    /// The activation code ran out unused.
    Expired,
}

impl EnrollmentStatus {
    fn wire(&self) -> &'static str {
        match self {
            EnrollmentStatus::WaitingForDevice => "waiting_for_device",
            EnrollmentStatus::ApproveTest { .. } => "approve_test",
            EnrollmentStatus::Completed { .. } => "completed",
            EnrollmentStatus::Failed { .. } => "failed",
            EnrollmentStatus::Expired => "expired",
        }
    }
}

#[derive(Deserialize)]
struct WireEnrollment {
    status: String,
    device_id: Option<String>,
    test: Option<WireTest>,
    reason: Option<String>,
}

#[derive(Deserialize)]
struct WireTest {
    number: String,
    expires_at: u64,
}

impl WireEnrollment {
    fn status(self) -> Result<EnrollmentStatus, ClientError> {
        Ok(match self.status.as_str() {
            "waiting_for_device" => EnrollmentStatus::WaitingForDevice,
            "approve_test" => {
                let test = self
                    .test
                    .ok_or_else(|| ClientError::protocol("approve_test without test"))?;
                EnrollmentStatus::ApproveTest {
                    number: test.number,
                    expires_at: test.expires_at,
                }
            }
            "completed" => EnrollmentStatus::Completed {
                device_id: self.device_id.unwrap_or_default(),
            },
            "failed" => EnrollmentStatus::Failed {
                reason: self.reason.unwrap_or_default(),
            },
            "expired" => EnrollmentStatus::Expired,
            other => {
                return Err(ClientError::protocol(format!(
                    "unknown enrollment status `{}`",
                    crate::echo(other)
                )))
            }
        })
    }
}

/// `GET /v1/userinfo`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct UserInfo {
    pub sub: String,
    pub email: String,
    pub name: String,
    pub phone_number: Option<String>,
}

/// An authenticator device registered to the user (`GET /v1/me/devices`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Device {
    pub device_id: String,
    pub display_name: String,
    pub platform: String,
    pub user_verification: bool,
    /// `pending` (test approval not done), `active`, or `suspended` (by a password reset, until
    /// confirmed or removed).
    pub state: String,
    pub created_at: u64,
    pub last_seen_at: Option<u64>,
}

/// What "log out everywhere" answered: how many sessions ended, and the authenticators added in
/// the last days (`security.reset_review_days`), so the app can offer "remove these".
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct LoggedOutEverywhere {
    pub revoked_sessions: u64,
    #[serde(default)]
    pub recent_devices: Vec<RecentDevice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RecentDevice {
    pub device_id: String,
    pub display_name: String,
    /// Unix seconds.
    pub created_at: u64,
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
    pub fn from_answer(server: &str, answer: &TokenAnswer, now: u64) -> StoredTokens {
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
                ("grant_type".into(), "refresh_token".into()),
                ("refresh_token".into(), refresh_token.to_string()),
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
    async fn authorized<T: serde::de::DeserializeOwned>(
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

    pub async fn user_info(&self) -> Result<UserInfo, ClientError> {
        self.authorized(|| Request::get(self.inner.api.url("/v1/userinfo")), 200)
            .await
    }

    /// The newest sign-ins and identity verifications of this user, newest first.
    pub async fn sign_in_history(&self) -> Result<Vec<SignInRecord>, ClientError> {
        #[derive(Deserialize)]
        struct History {
            sign_ins: Vec<SignInRecord>,
        }
        let history: History = self
            .authorized(|| Request::get(self.inner.api.url("/v1/me/sign-ins")), 200)
            .await?;
        Ok(history.sign_ins)
    }

    /// Ten new single-use backup codes; the previous ones stop working. Needs a recent sign-in
    /// with a second factor ([`ClientError::StepUpRequired`] otherwise).
    pub async fn regenerate_backup_codes(&self) -> Result<BackupCodes, ClientError> {
        #[derive(Deserialize)]
        struct Codes {
            codes: Vec<String>,
        }
        let codes: Codes = self
            .authorized(
                || self.inner.api.post_json("/v1/me/backup-codes", &json!({})),
                200,
            )
            .await?;
        Ok(BackupCodes(codes.codes))
    }

    /// Starts a TOTP credential; it becomes active after [`Session::confirm_totp`]. Needs a
    /// recent sign-in with a second factor ([`ClientError::StepUpRequired`] otherwise).
    pub async fn add_totp(&self) -> Result<TotpEnrollment, ClientError> {
        #[derive(Deserialize)]
        struct Pending {
            otpauth_uri: String,
        }
        let pending: Pending = self
            .authorized(|| self.inner.api.post_json("/v1/me/totp", &json!({})), 200)
            .await?;
        Ok(TotpEnrollment {
            otpauth_uri: pending.otpauth_uri,
        })
    }

    pub async fn confirm_totp(&self, code: &str) -> Result<(), ClientError> {
        let code = Zeroizing::new(code.trim().to_owned());
        let _: serde_json::Value = self
            .authorized(
                || {
                    self.inner
                        .api
                        .post_json("/v1/me/totp/confirm", &json!({ "code": code.as_str() }))
                },
                200,
            )
            .await?;
        Ok(())
    }

    /// Removes the TOTP credential (active and pending). Needs a recent sign-in with a second
    /// factor ([`ClientError::StepUpRequired`] otherwise).
    pub async fn remove_totp(&self) -> Result<(), ClientError> {
        let url = self.inner.api.url("/v1/me/totp");
        let _: serde_json::Value = self
            .authorized(
                || {
                    let mut request = Request::get(url.clone());
                    request.method = crate::http::Method::Delete;
                    request
                },
                200,
            )
            .await?;
        Ok(())
    }

    /// Changes the password; every other session of the user ends (this one stays). Answers
    /// how many ended. Needs a recent sign-in with a second factor
    /// ([`ClientError::StepUpRequired`]); a wrong `current` answers
    /// [`ClientError::WrongCredential`] and counts toward the lockout.
    pub async fn change_password(&self, current: &str, new: &str) -> Result<u64, ClientError> {
        #[derive(Deserialize)]
        struct Changed {
            revoked_sessions: u64,
        }
        let (current, new) = (
            Zeroizing::new(current.to_owned()),
            Zeroizing::new(new.to_owned()),
        );
        if current.is_empty() || new.is_empty() {
            return Err(ClientError::InvalidInput {
                what: "enter your current and your new password".into(),
            });
        }
        let changed: Changed = self
            .authorized(
                || {
                    self.inner.api.post_json(
                        "/v1/me/password",
                        &json!({
                            "current_password": current.as_str(),
                            "new_password": new.as_str(),
                        }),
                    )
                },
                200,
            )
            .await?;
        Ok(changed.revoked_sessions)
    }

    /// Keeps a device a password reset suspended (`state: "suspended"`): it is active again.
    /// Needs a recent sign-in with a second factor ([`ClientError::StepUpRequired`]).
    pub async fn confirm_device(&self, device_id: &str) -> Result<Device, ClientError> {
        let path = format!(
            "/v1/me/devices/{}/confirm",
            percent_encoding::utf8_percent_encode(device_id, percent_encoding::NON_ALPHANUMERIC)
        );
        self.authorized(|| self.inner.api.post_json(&path, &json!({})), 200)
            .await
    }

    /// Keeps the TOTP credential a password reset suspended. Needs a recent sign-in with a
    /// second factor ([`ClientError::StepUpRequired`]).
    pub async fn confirm_suspended_totp(&self) -> Result<(), ClientError> {
        let _: serde_json::Value = self
            .authorized(
                || {
                    self.inner
                        .api
                        .post_json("/v1/me/totp/confirm-suspended", &json!({}))
                },
                200,
            )
            .await?;
        Ok(())
    }

    /// The user's authenticator devices.
    pub async fn devices(&self) -> Result<Vec<Device>, ClientError> {
        #[derive(Deserialize)]
        struct Devices {
            devices: Vec<Device>,
        }
        let list: Devices = self
            .authorized(|| Request::get(self.inner.api.url("/v1/me/devices")), 200)
            .await?;
        Ok(list.devices)
    }

    /// Removes an authenticator device from the account: it can no longer approve anything.
    /// Needs a recent sign-in with a second factor ([`ClientError::StepUpRequired`] otherwise).
    pub async fn remove_device(&self, device_id: &str) -> Result<(), ClientError> {
        let url = self.inner.api.url(&format!("/v1/me/devices/{device_id}"));
        let _: serde_json::Value = self
            .authorized(
                || {
                    let mut request = Request::get(url.clone());
                    request.method = crate::http::Method::Delete;
                    request
                },
                200,
            )
            .await?;
        Ok(())
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
        let mut revoke = Request::post_form(
            self.inner.api.url("/v1/revoke"),
            vec![
                ("client_id".into(), self.inner.api.client_id().to_owned()),
                ("token".into(), refresh.to_string()),
            ],
        );
        revoke.idempotent = true;
        let _ = self
            .inner
            .api
            .call::<serde_json::Value>(revoke, None, 200)
            .await;
    }

    /// Starts enrolling another authenticator phone (`POST /v1/me/authenticators`). Needs a
    /// recent sign-in with a second factor: [`ClientError::StepUpRequired`] otherwise.
    pub async fn add_authenticator(&self) -> Result<AuthenticatorEnrollment, ClientError> {
        #[derive(Deserialize)]
        struct Started {
            enrollment_id: String,
            qr_payload: String,
            activation_code: String,
            server_url: String,
            label: String,
            expires_at: u64,
        }
        let started: Started = self
            .authorized(
                || {
                    self.inner
                        .api
                        .post_json("/v1/me/authenticators", &json!({}))
                },
                201,
            )
            .await?;
        Ok(AuthenticatorEnrollment {
            enrollment_id: started.enrollment_id,
            qr_payload: Sensitive::new(started.qr_payload),
            activation_code: Sensitive::new(started.activation_code),
            server_url: started.server_url,
            label: started.label,
            expires_at: started.expires_at,
        })
    }

    /// Where an enrollment is. With `wait_s > 0` the server holds the answer (at most 30 s)
    /// while the status is still `shown` (what the screen shows now).
    pub async fn authenticator_enrollment(
        &self,
        enrollment_id: &str,
        shown: &EnrollmentStatus,
        wait_s: u64,
    ) -> Result<EnrollmentStatus, ClientError> {
        let mut path = format!(
            "/v1/me/authenticators/{}",
            percent_encoding::utf8_percent_encode(
                enrollment_id,
                percent_encoding::NON_ALPHANUMERIC
            )
        );
        if wait_s > 0 {
            path.push_str(&format!("?wait={}&status={}", wait_s.min(30), shown.wire()));
        }
        let url = self.inner.api.url(&path);
        let answer: WireEnrollment = self.authorized(|| Request::get(url.clone()), 200).await?;
        answer.status()
    }

    /// Changes to the account's security information, newest first
    /// (`GET /v1/me/security-events`).
    pub async fn security_events(&self) -> Result<Vec<SecurityEvent>, ClientError> {
        #[derive(Deserialize)]
        struct Events {
            events: Vec<SecurityEvent>,
        }
        let events: Events = self
            .authorized(
                || Request::get(self.inner.api.url("/v1/me/security-events")),
                200,
            )
            .await?;
        Ok(events.events)
    }

    /// Ends this session on the server and forgets its tokens. The local end always happens;
    /// when the server cannot be told, the tokens are revoked best-effort and the error returned.
    pub async fn logout(&self) -> Result<(), ClientError> {
        let mut guard = self.inner.tokens.lock().await;
        let Some(tokens) = guard.as_ref() else {
            return Ok(());
        };
        let access = Zeroizing::new(tokens.access_token.clone());
        let refresh = Zeroizing::new(tokens.refresh_token.clone());
        let told = self
            .inner
            .api
            .call::<serde_json::Value>(
                self.inner.api.post_json("/v1/logout", &json!({})),
                Some(&access),
                200,
            )
            .await;
        let result = match told {
            Ok(_) | Err(ClientError::SessionEnded) => Ok(()),
            Err(error) => {
                // RFC 7009 revocation with the refresh token still ends the session server-side.
                let mut revoke = Request::post_form(
                    self.inner.api.url("/v1/revoke"),
                    vec![
                        ("client_id".into(), self.inner.api.client_id().to_owned()),
                        ("token".into(), refresh.to_string()),
                    ],
                );
                revoke.idempotent = true;
                match self
                    .inner
                    .api
                    .call::<serde_json::Value>(revoke, None, 200)
                    .await
                {
                    Ok(_) => Ok(()),
                    Err(_) => Err(error),
                }
            }
        };
        self.end_locked(&mut guard, EndReason::LoggedOut)?;
        result
    }

    /// Ends every session of this user on every device; answers how many ended.
    pub async fn logout_everywhere(&self) -> Result<u64, ClientError> {
        Ok(self.logout_everywhere_and_review().await?.revoked_sessions)
    }

    /// [`Session::logout_everywhere`], also answering the authenticators added recently: after
    /// a suspected takeover the app offers to remove them (from a new, stepped-up session).
    pub async fn logout_everywhere_and_review(&self) -> Result<LoggedOutEverywhere, ClientError> {
        let revoked: LoggedOutEverywhere = self
            .authorized(
                || self.inner.api.post_json("/v1/logout-all", &json!({})),
                200,
            )
            .await?;
        let mut guard = self.inner.tokens.lock().await;
        self.end_locked(&mut guard, EndReason::LoggedOut)?;
        Ok(revoked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_events_and_history_entries_decode_with_or_without_optional_fields() {
        let events: Vec<SecurityEvent> = serde_json::from_str(
            r#"[{"at":5,"kind":"authenticator_added","detail":"Dave's Pixel","ip":"127.0.0.1","user_agent":"AcmeApp/1.0"},
                {"at":4,"kind":"totp_removed","detail":null,"ip":"127.0.0.1","user_agent":""},
                {"at":3,"kind":"factors_suspended","detail":{"devices":1},"ip":"10.0.0.1","user_agent":"x"}]"#,
        )
        .unwrap();
        assert_eq!(events[0].detail, "Dave's Pixel");
        assert_eq!(events[1].detail, "");
        assert_eq!(events[2].detail, r#"{"devices":1}"#);
        // a security event in the sign-in history need not carry the sign-in fields
        let record: SignInRecord =
            serde_json::from_str(r#"{"at":5,"kind":"security_event","method":"totp_added"}"#)
                .unwrap();
        assert_eq!(
            (record.kind.as_str(), record.factors.len()),
            ("security_event", 0)
        );
    }

    #[test]
    fn enrollment_statuses_follow_the_protocol() {
        let status = |json: &str| {
            serde_json::from_str::<WireEnrollment>(json)
                .unwrap()
                .status()
        };
        assert_eq!(
            status(
                r#"{"status":"approve_test","test":{"request_id":"1","number":"42","expires_at":9}}"#
            ),
            Ok(EnrollmentStatus::ApproveTest {
                number: "42".into(),
                expires_at: 9
            })
        );
        assert_eq!(
            status(r#"{"status":"completed","device_id":"dv_x"}"#),
            Ok(EnrollmentStatus::Completed {
                device_id: "dv_x".into()
            })
        );
        assert_eq!(
            status(r#"{"status":"failed","reason":"number_mismatch"}"#),
            Ok(EnrollmentStatus::Failed {
                reason: "number_mismatch".into()
            })
        );
        assert!(matches!(
            status(r#"{"status":"approve_test"}"#),
            Err(ClientError::Protocol { .. })
        ));
        assert!(matches!(
            status(r#"{"status":"sideways"}"#),
            Err(ClientError::Protocol { .. })
        ));
    }
}
