//! A signed-in session: the access token for API calls, refreshed before it expires and at most
//! once at a time (N concurrent callers wait for one refresh), plus what a signed-in user can do
//! (history, log out, log out everywhere, second-factor enrollment).
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
use crate::error::ClientError;
use crate::http::Request;
use crate::store::SecureStore;

/// Refresh this many seconds before the access token expires (at most a quarter of its life).
const REFRESH_MARGIN_S: u64 = 60;

/// What the app can observe about a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionState {
    Active,
    Ended { reason: EndReason },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// `logout()` or `logout_everywhere()` on this device.
    LoggedOut,
    /// The server refused the refresh token: revoked elsewhere (log out everywhere, password
    /// reset), reused (a stolen copy was used), or expired.
    Revoked,
}

/// One entry of the sign-in history (`GET /v1/me/sign-ins`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SignInRecord {
    pub at: u64,
    /// `sign_in` or `identity_verification`.
    pub kind: String,
    pub method: String,
    pub factors: Vec<String>,
    pub ip: String,
    pub user_agent: String,
    /// `success`, `wrong_password`, `wrong_code`, `replayed_code`, `locked`...
    pub result: String,
}

/// `GET /v1/userinfo`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UserInfo {
    pub sub: String,
    pub email: String,
    pub name: String,
    pub phone_number: Option<String>,
}

/// An authenticator device registered to the user (`GET /v1/me/devices`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Device {
    pub device_id: String,
    pub display_name: String,
    pub platform: String,
    pub user_verification: bool,
    /// `pending` (test approval not done) or `active`.
    pub state: String,
    pub created_at: u64,
    pub last_seen_at: Option<u64>,
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

    /// Ten new single-use backup codes; the previous ones stop working.
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

    /// Starts a TOTP credential; it becomes active after [`Session::confirm_totp`].
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
        #[derive(Deserialize)]
        struct Revoked {
            revoked_sessions: u64,
        }
        let revoked: Revoked = self
            .authorized(
                || self.inner.api.post_json("/v1/logout-all", &json!({})),
                200,
            )
            .await?;
        let mut guard = self.inner.tokens.lock().await;
        self.end_locked(&mut guard, EndReason::LoggedOut)?;
        Ok(revoked.revoked_sessions)
    }
}
