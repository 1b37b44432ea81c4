//! The authenticator app's core: push accounts (a device key registered with an identity server,
//! answering number-matching sign-in requests) beside the TOTP/HOTP accounts of the [`Vault`].
//!
//! Everything the phone sends to the server is signed with the account's device key
//! (docs/protocol.md "Signed device requests"; the messages are [`crate::device_protocol`]).
//! Approving always goes through the app's [`UserVerification`] first: there is no way to approve
//! without it. Push accounts are bound to their device key and are never exported in a backup.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use data_encoding::BASE64URL_NOPAD;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::device_keys::{DeviceKeys, KeyError};
use crate::device_protocol::{
    self as protocol, ActivationCode, Decision, EnrollLink, RequestParts,
};
use crate::http::{HttpClient, HttpConfig, HttpError, Method, Request, Response};
use crate::otp::ClockOffset;
use crate::store::{SecureStore, StoreError};
use crate::vault::{AccountCode, AccountId, AccountSummary, QrImport, Vault, VaultError};

const PUSH_ACCOUNTS: &str = "authenticator/push-accounts";

/// How this phone introduces itself when it registers.
#[derive(Debug, Clone)]
pub struct AuthenticatorConfig {
    pub http: HttpConfig,
    /// "Dave's Pixel"
    pub device_name: String,
    /// `android`, `ios`, `harness`
    pub platform: String,
    /// The OS push token (FCM/APNs), when notifications are set up.
    pub push_token: Option<String>,
    /// The device keys require biometrics or the device PIN (enables phone sign-in).
    pub user_verification: bool,
}

/// Asks the person holding the phone to prove it is them (biometric prompt, device PIN) before an
/// approval is signed. Implemented by the app; a `false` answer sends nothing.
pub trait UserVerification: Send + Sync {
    fn verify_user(&self, reason: String) -> Pin<Box<dyn Future<Output = bool> + Send>>;
}

/// A push account: this phone registered with an identity server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushAccount {
    /// The server's device id (`dv_…`), also the account's id here.
    pub device_id: String,
    /// "Globex: carol@globex.example"
    pub label: String,
    pub server_url: String,
    pub user_verification: bool,
    /// The server verified the platform's attestation of the key.
    #[serde(default)]
    pub attested: bool,
    /// Phone sign-in (without a password) reaches this account: the server trusts its user
    /// verification (attested, or the server does not require attestation).
    #[serde(default)]
    pub passwordless: bool,
    key_alias: String,
}

/// One line of the account list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Account {
    Push(PushAccount),
    Otp(AccountSummary),
}

impl Account {
    pub fn id(&self) -> AccountId {
        match self {
            Account::Push(p) => AccountId(p.device_id.clone()),
            Account::Otp(o) => o.id.clone(),
        }
    }
}

/// What scanning a QR code added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    /// Registered with the server; its test approval is waiting in [`Authenticator::pending_approvals`].
    Push(PushAccount),
    Otp(QrImport),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalKind {
    SignIn,
    /// The test approval that finishes an enrollment.
    Test,
}

/// How the user answers: type the number the sign-in screen shows, or pick it among three.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumberPrompt {
    Enter { length: u32 },
    Choose { choices: Vec<String> },
}

/// Where the sign-in comes from, shown with the number prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalContext {
    /// "Authcore Demo"
    pub app: String,
    pub ip: String,
    /// "Chrome on macOS"
    pub user_agent: String,
    pub location: Option<String>,
    /// Unix seconds.
    pub time: u64,
}

/// A sign-in waiting for this phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRequest {
    pub id: String,
    /// The push account (device id) it is for.
    pub account: String,
    pub account_label: String,
    pub kind: ApprovalKind,
    pub prompt: NumberPrompt,
    pub context: ApprovalContext,
    pub expires_at: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthenticatorError {
    #[error("the network failed")]
    Network { retryable: bool },
    #[error("the server did not answer in time")]
    Timeout,
    #[error("the server's certificate is not trusted")]
    Untrusted,
    #[error("refusing plain http to {host}: only https is allowed outside loopback")]
    InsecureUrl { host: String },
    #[error("`{url}` is not a valid server URL")]
    InvalidUrl { url: String },
    #[error("the server answered with status {status}")]
    Server { status: u16 },
    #[error("the server's answer is not valid: {what}")]
    Protocol { what: String },
    /// The scanned code is not an authenticator QR code, or a malformed one.
    #[error("{what}")]
    InvalidQr { what: String },
    /// The activation code is unknown, used, or replaced by a newer one.
    #[error("the activation code is not valid; ask for a new QR code")]
    InvalidActivationCode,
    #[error("it expired")]
    Expired,
    #[error("this request was already answered")]
    AlreadyAnswered,
    #[error("this request no longer exists")]
    UnknownRequest,
    /// The server no longer knows this device (removed from the account).
    #[error("this phone was removed from the account")]
    DeviceRemoved,
    #[error("the number did not match; the sign-in was denied")]
    NumberMismatch,
    /// The number typed is not the shape the request asks for; nothing was sent.
    #[error("enter the {length}-digit number shown on the sign-in screen")]
    InvalidNumber { length: u32 },
    #[error("too many requests; try again in {retry_after} s")]
    RateLimited { retry_after: u64 },
    /// The biometric/PIN check failed or was cancelled; nothing was sent.
    #[error("you were not verified; nothing was sent")]
    UserNotVerified,
    #[error("no such account")]
    UnknownAccount,
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Storage(#[from] StoreError),
}

impl From<HttpError> for AuthenticatorError {
    fn from(error: HttpError) -> Self {
        match error {
            HttpError::InvalidUrl(url) => AuthenticatorError::InvalidUrl { url },
            HttpError::InsecureUrl { host } => AuthenticatorError::InsecureUrl { host },
            HttpError::InvalidRootCertificate | HttpError::Untrusted => {
                AuthenticatorError::Untrusted
            }
            HttpError::Network { retryable } => AuthenticatorError::Network { retryable },
            HttpError::Timeout => AuthenticatorError::Timeout,
        }
    }
}

fn protocol_error(what: &str) -> AuthenticatorError {
    AuthenticatorError::Protocol { what: what.into() }
}

/// The authenticator. Methods are safe to call from several tasks.
pub struct Authenticator {
    vault: Vault,
    store: Arc<dyn SecureStore>,
    keys: Arc<dyn DeviceKeys>,
    verification: Arc<dyn UserVerification>,
    http: HttpClient,
    config: AuthenticatorConfig,
    push: Mutex<Vec<PushAccount>>,
    /// Server clock minus ours, learned from a `stale_request` answer.
    clock_offset: std::sync::atomic::AtomicI64,
}

impl Authenticator {
    pub fn open(
        store: Arc<dyn SecureStore>,
        keys: Arc<dyn DeviceKeys>,
        verification: Arc<dyn UserVerification>,
        config: AuthenticatorConfig,
    ) -> Result<Self, AuthenticatorError> {
        let push = match store.get(PUSH_ACCOUNTS)? {
            None => Vec::new(),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map_err(|_| AuthenticatorError::Vault(VaultError::Unreadable))?,
        };
        Ok(Authenticator {
            vault: Vault::open(store.clone())?,
            http: HttpClient::new(config.http.clone())?,
            store,
            keys,
            verification,
            config,
            push: Mutex::new(push),
            clock_offset: std::sync::atomic::AtomicI64::new(0),
        })
    }

    /// Push accounts first, then the code accounts in their order.
    pub fn accounts(&self) -> Vec<Account> {
        let mut all: Vec<Account> = self
            .push_accounts()
            .into_iter()
            .map(Account::Push)
            .collect();
        all.extend(self.vault.accounts().into_iter().map(Account::Otp));
        all
    }

    pub fn push_accounts(&self) -> Vec<PushAccount> {
        lock(&self.push).clone()
    }

    /// The current code of every TOTP account at `now` (unix seconds), with seconds left.
    pub fn codes(&self, now: u64) -> Vec<AccountCode> {
        self.vault.codes(now, ClockOffset::ZERO)
    }

    /// The code accounts (TOTP/HOTP): rename, reorder, HOTP next code, backups.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// A scanned QR code: `otpauth://`, `otpauth-migration://` (a batch; the answer tells which
    /// are missing) or `authcore://enroll` (registers this phone with the server).
    pub async fn add_from_qr(&self, payload: &str) -> Result<Added, AuthenticatorError> {
        let trimmed = payload.trim();
        if trimmed
            .get(..11)
            .is_some_and(|p| p.eq_ignore_ascii_case("authcore://"))
        {
            let link = EnrollLink::parse(trimmed).map_err(|e| AuthenticatorError::InvalidQr {
                what: e.to_string(),
            })?;
            return Ok(Added::Push(self.activate(link).await?));
        }
        match self.vault.add_from_qr(trimmed) {
            Ok(import) => Ok(Added::Otp(import)),
            Err(VaultError::UnsupportedQr) => Err(AuthenticatorError::InvalidQr {
                what: "this QR code is not an authenticator code".into(),
            }),
            Err(other) => Err(other.into()),
        }
    }

    /// "Can't scan image?": the activation code and server URL typed by hand.
    pub async fn activate_manually(
        &self,
        activation_code: &str,
        server_url: &str,
    ) -> Result<PushAccount, AuthenticatorError> {
        let code =
            ActivationCode::parse(activation_code).map_err(|e| AuthenticatorError::InvalidQr {
                what: format!("the activation code is not valid: {e}"),
            })?;
        protocol::check_server_url(server_url.trim()).map_err(|e| {
            AuthenticatorError::InvalidQr {
                what: e.to_string(),
            }
        })?;
        self.activate(EnrollLink {
            server_url: server_url.trim().trim_end_matches('/').to_owned(),
            activation_code: code,
            label: None,
        })
        .await
    }

    async fn activate(&self, link: EnrollLink) -> Result<PushAccount, AuthenticatorError> {
        let alias = format!("push-{}", random_hex());
        self.keys.generate(&alias)?;
        // The platform's proof of the key, bound to this (secret, single-use) activation code.
        let challenge = protocol::attestation_challenge(&link.activation_code);
        let attested = self
            .keys
            .attestation(&alias, &challenge)
            .and_then(|attestation| Ok((self.keys.public_key(&alias)?, attestation)));
        let (spki, attestation) = match attested {
            Ok(found) => found,
            Err(error) => {
                let _ = self.keys.delete(&alias);
                return Err(error.into());
            }
        };
        let mut body = json!({
            "activation_code": link.activation_code.expose(),
            "public_key": BASE64URL_NOPAD.encode(&spki),
            "display_name": self.config.device_name,
            "platform": self.config.platform,
            "push_token": self.config.push_token,
            "user_verification": self.config.user_verification,
        });
        if let Some(attestation) = &attestation {
            body["attestation"] = attestation.to_json();
        }
        let server = link.server_url.trim_end_matches('/').to_owned();
        let answer = self
            .signed(
                &server,
                "",
                &alias,
                Method::Post,
                "/v1/devices/activate",
                Some(&body),
            )
            .await
            .and_then(|r| expect(&r, 201));
        let answer = match answer {
            Ok(answer) => answer,
            Err(error) => {
                let _ = self.keys.delete(&alias);
                return Err(error);
            }
        };
        #[derive(Deserialize)]
        struct Activated {
            device_id: String,
            account: Option<AccountInfo>,
            #[serde(default)]
            attested: bool,
            /// Absent from servers before attestation: they trusted user_verification.
            passwordless: Option<bool>,
        }
        #[derive(Deserialize)]
        struct AccountInfo {
            label: Option<String>,
            server_url: Option<String>,
        }
        let activated: Activated = serde_json::from_value(answer)
            .map_err(|_| protocol_error("activation answer without device_id"))?;
        let info = activated.account;
        let account = PushAccount {
            device_id: activated.device_id,
            label: info
                .as_ref()
                .and_then(|a| a.label.clone())
                .or(link.label)
                .unwrap_or_else(|| server.clone()),
            server_url: info
                .and_then(|a| a.server_url)
                .map(|u| u.trim_end_matches('/').to_owned())
                .unwrap_or(server),
            user_verification: self.config.user_verification,
            attested: activated.attested,
            passwordless: activated
                .passwordless
                .unwrap_or(self.config.user_verification),
            key_alias: alias,
        };
        self.change_push(|accounts| {
            accounts.push(account.clone());
            Ok(())
        })?;
        Ok(account)
    }

    /// The requests waiting for this phone on every push account. With `wait_s` > 0 and nothing
    /// pending, long-polls until one arrives (or the time is up).
    pub async fn pending_approvals(
        &self,
        wait_s: u32,
    ) -> Result<Vec<ApprovalRequest>, AuthenticatorError> {
        let accounts = self.push_accounts();
        let polls: Vec<_> = accounts
            .iter()
            .map(|account| Box::pin(self.challenges(account, wait_s)))
            .collect();
        let mut all = Vec::new();
        for result in join_all(polls).await {
            all.extend(result?);
        }
        Ok(all)
    }

    /// An OS push arrived (`{"device_id", "request_id"}`): fetches that request over TLS.
    /// `None` when it was already answered or expired.
    pub async fn handle_push_payload(
        &self,
        payload: &std::collections::HashMap<String, String>,
    ) -> Result<Option<ApprovalRequest>, AuthenticatorError> {
        let (Some(device_id), Some(request_id)) =
            (payload.get("device_id"), payload.get("request_id"))
        else {
            return Err(protocol_error(
                "push payload without device_id and request_id",
            ));
        };
        let account = self.account(device_id)?;
        let pending = self.challenges(&account, 0).await?;
        Ok(pending.into_iter().find(|r| &r.id == request_id))
    }

    /// "Approve" with the number the user typed or chose. The app's [`UserVerification`] runs
    /// first; nothing is sent unless it passes.
    pub async fn approve(
        &self,
        request: &ApprovalRequest,
        number: &str,
    ) -> Result<(), AuthenticatorError> {
        let number = number.trim();
        let shape_ok = match &request.prompt {
            NumberPrompt::Enter { length } => {
                number.len() == *length as usize && number.bytes().all(|b| b.is_ascii_digit())
            }
            NumberPrompt::Choose { choices } => choices.iter().any(|c| c == number),
        };
        if !shape_ok {
            let length = match &request.prompt {
                NumberPrompt::Enter { length } => *length,
                NumberPrompt::Choose { choices } => choices.first().map_or(2, |c| c.len() as u32),
            };
            return Err(AuthenticatorError::InvalidNumber { length });
        }
        let reason = match request.kind {
            ApprovalKind::Test => format!("Finish setting up {}", request.account_label),
            ApprovalKind::SignIn => format!(
                "Approve sign-in to {} from {}",
                request.context.app, request.context.ip
            ),
        };
        if !self.verification.verify_user(reason).await {
            return Err(AuthenticatorError::UserNotVerified);
        }
        self.decide(request, Decision::Approve, number).await
    }

    /// "Deny": the sign-in fails.
    pub async fn deny(&self, request: &ApprovalRequest) -> Result<(), AuthenticatorError> {
        self.decide(request, Decision::Deny, "").await
    }

    /// "Report fraud": denies and blocks further pushes to this account for a while.
    pub async fn report_fraud(&self, request: &ApprovalRequest) -> Result<(), AuthenticatorError> {
        self.decide(request, Decision::ReportFraud, "").await
    }

    /// Renames a code account, or relabels a push account (on this phone only).
    pub fn rename(&self, id: &AccountId, name: &str) -> Result<(), AuthenticatorError> {
        if lock(&self.push).iter().any(|a| a.device_id == id.0) {
            let name = name.trim().to_owned();
            if name.is_empty() {
                return Err(AuthenticatorError::InvalidQr {
                    what: "the name is empty".into(),
                });
            }
            return self.change_push(|accounts| {
                if let Some(account) = accounts.iter_mut().find(|a| a.device_id == id.0) {
                    account.label = name;
                }
                Ok(())
            });
        }
        let issuer = self
            .vault
            .accounts()
            .into_iter()
            .find(|a| &a.id == id)
            .ok_or(AuthenticatorError::UnknownAccount)?
            .issuer;
        self.vault.rename(id, issuer, name.to_owned())?;
        Ok(())
    }

    /// Removes an account from this phone; a push account's key is deleted too (remove the
    /// device from the account on the server as well, from a signed-in session).
    pub fn delete(&self, id: &AccountId) -> Result<(), AuthenticatorError> {
        let push = lock(&self.push)
            .iter()
            .find(|a| a.device_id == id.0)
            .cloned();
        match push {
            Some(account) => {
                self.change_push(|accounts| {
                    accounts.retain(|a| a.device_id != id.0);
                    Ok(())
                })?;
                self.keys.delete(&account.key_alias)?;
                Ok(())
            }
            None => Ok(self.vault.delete(id)?),
        }
    }

    /// Every code account, encrypted under `passphrase`. Push accounts stay on this phone.
    pub fn export_backup(&self, passphrase: &str) -> Result<Vec<u8>, AuthenticatorError> {
        Ok(self.vault.export_backup(passphrase)?)
    }

    pub fn import_backup(
        &self,
        bytes: &[u8],
        passphrase: &str,
    ) -> Result<QrImport, AuthenticatorError> {
        Ok(self.vault.import_backup(bytes, passphrase)?)
    }

    fn account(&self, device_id: &str) -> Result<PushAccount, AuthenticatorError> {
        lock(&self.push)
            .iter()
            .find(|a| a.device_id == device_id)
            .cloned()
            .ok_or(AuthenticatorError::UnknownAccount)
    }

    fn change_push(
        &self,
        edit: impl FnOnce(&mut Vec<PushAccount>) -> Result<(), AuthenticatorError>,
    ) -> Result<(), AuthenticatorError> {
        let mut accounts = lock(&self.push);
        let mut next = accounts.clone();
        edit(&mut next)?;
        let bytes = serde_json::to_vec(&next).map_err(|_| protocol_error("encoding accounts"))?;
        self.store.put(PUSH_ACCOUNTS, &bytes)?;
        *accounts = next;
        Ok(())
    }

    async fn challenges(
        &self,
        account: &PushAccount,
        wait_s: u32,
    ) -> Result<Vec<ApprovalRequest>, AuthenticatorError> {
        let path = if wait_s > 0 {
            format!("/v1/devices/challenges?wait={}", wait_s.min(30))
        } else {
            "/v1/devices/challenges".to_owned()
        };
        let response = self
            .signed(
                &account.server_url,
                &account.device_id,
                &account.key_alias,
                Method::Get,
                &path,
                None,
            )
            .await?;
        let answer = expect(&response, 200)?;
        let list = answer
            .get("challenges")
            .and_then(Value::as_array)
            .ok_or_else(|| protocol_error("challenges answer without a list"))?;
        list.iter()
            .map(|c| approval_of(c, account))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| protocol_error("a challenge is missing fields"))
    }

    async fn decide(
        &self,
        request: &ApprovalRequest,
        decision: Decision,
        number: &str,
    ) -> Result<(), AuthenticatorError> {
        let account = self.account(&request.account)?;
        let path = format!("/v1/devices/challenges/{}", request.id);
        let mut retried = false;
        loop {
            let timestamp = self.now();
            let message = protocol::decision_message(
                &request.id,
                decision,
                number,
                timestamp,
                &account.device_id,
            )
            .map_err(|_| protocol_error("the request id is not valid"))?;
            let signature = BASE64URL_NOPAD.encode(&self.keys.sign(&account.key_alias, &message)?);
            let mut body = json!({ "decision": decision.as_str(), "signature": signature });
            if decision == Decision::Approve {
                body["number"] = json!(number);
            }
            let response = self
                .signed_at(
                    timestamp,
                    &account.server_url,
                    &account.device_id,
                    &account.key_alias,
                    Method::Post,
                    &path,
                    Some(&body),
                )
                .await?;
            if is_stale(&response) && !retried {
                retried = true; // the clock was corrected from the server's answer
                continue;
            }
            return expect(&response, 200).map(|_| ());
        }
    }

    fn now(&self) -> u64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        now.saturating_add_signed(self.clock_offset.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// A signed device request; a `stale_request` answer corrects this phone's clock from the
    /// server's `server_time` and is retried once (GETs; decisions re-sign in `decide`).
    async fn signed(
        &self,
        server: &str,
        device_id: &str,
        alias: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Response, AuthenticatorError> {
        let first = self
            .signed_at(self.now(), server, device_id, alias, method, path, body)
            .await?;
        if is_stale(&first) {
            return self
                .signed_at(self.now(), server, device_id, alias, method, path, body)
                .await;
        }
        Ok(first)
    }

    #[allow(clippy::too_many_arguments)]
    async fn signed_at(
        &self,
        timestamp: u64,
        server: &str,
        device_id: &str,
        alias: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Response, AuthenticatorError> {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let nonce = protocol::new_nonce();
        let method_name = match method {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        };
        let message = protocol::request_message(&RequestParts {
            method: method_name,
            path_and_query: path,
            body: &bytes,
            timestamp,
            nonce: &nonce,
            device_id,
        })
        .map_err(|_| protocol_error("the request could not be signed"))?;
        let signature = BASE64URL_NOPAD.encode(&self.keys.sign(alias, &message)?);
        let url = format!("{server}{path}");
        let mut request = match method {
            Method::Post => Request::post_json(url, bytes),
            _ => Request::get(url),
        };
        request.method = method;
        if !device_id.is_empty() {
            request = request.with_header(protocol::HEADER_DEVICE_ID, device_id);
        }
        request = request
            .with_header(protocol::HEADER_TIMESTAMP, timestamp.to_string())
            .with_header(protocol::HEADER_NONCE, nonce)
            .with_header(protocol::HEADER_SIGNATURE, signature);
        let response = self.http.send(&request).await?;
        if let Some(server_time) = stale_server_time(&response) {
            let ours = i64::try_from(self.now()).unwrap_or(i64::MAX)
                - self.clock_offset.load(std::sync::atomic::Ordering::Relaxed);
            let offset = i64::try_from(server_time).unwrap_or(i64::MAX) - ours;
            self.clock_offset
                .store(offset, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(response)
    }
}

const STALE: &str = "stale_request";

fn stale_server_time(response: &Response) -> Option<u64> {
    if response.status != 401 {
        return None;
    }
    let body: Value = serde_json::from_slice(&response.body).ok()?;
    (body.get("error")?.as_str()? == STALE)
        .then(|| body.get("server_time")?.as_u64())
        .flatten()
}

fn is_stale(response: &Response) -> bool {
    stale_server_time(response).is_some()
}

/// The JSON answer of a device API call, or its typed error.
fn expect(response: &Response, status: u16) -> Result<Value, AuthenticatorError> {
    let body: Option<Value> = serde_json::from_slice(&response.body).ok();
    if response.status == status {
        return body.ok_or_else(|| protocol_error("malformed JSON"));
    }
    if response.status >= 500 {
        return Err(AuthenticatorError::Server {
            status: response.status,
        });
    }
    let error = body
        .as_ref()
        .and_then(|b| b.get("error"))
        .and_then(Value::as_str)
        .ok_or(AuthenticatorError::Server {
            status: response.status,
        })?;
    let retry_after = body
        .as_ref()
        .and_then(|b| b.get("retry_after"))
        .and_then(Value::as_u64)
        .or(response.retry_after)
        .unwrap_or(1);
    Err(match error {
        "invalid_activation_code" => AuthenticatorError::InvalidActivationCode,
        "expired" => AuthenticatorError::Expired,
        "already_answered" => AuthenticatorError::AlreadyAnswered,
        "unknown_request" => AuthenticatorError::UnknownRequest,
        "unknown_device" => AuthenticatorError::DeviceRemoved,
        "number_mismatch" => AuthenticatorError::NumberMismatch,
        "slow_down" => AuthenticatorError::RateLimited { retry_after },
        STALE => protocol_error("this phone's clock is too far off"),
        "invalid_signature" | "replayed_request" => {
            protocol_error("the server refused this phone's signature")
        }
        _ => AuthenticatorError::Server {
            status: response.status,
        },
    })
}

fn approval_of(value: &Value, account: &PushAccount) -> Option<ApprovalRequest> {
    let text = |v: &Value, name: &str| v.get(name).and_then(Value::as_str).map(str::to_owned);
    let context = value.get("context")?;
    let prompt = match value.get("mode").and_then(Value::as_str)? {
        "choose" => NumberPrompt::Choose {
            choices: value
                .get("choices")?
                .as_array()?
                .iter()
                .map(|c| c.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()?,
        },
        _ => NumberPrompt::Enter {
            length: u32::try_from(value.get("number_length")?.as_u64()?).ok()?,
        },
    };
    Some(ApprovalRequest {
        id: text(value, "request_id")?,
        account: account.device_id.clone(),
        account_label: account.label.clone(),
        kind: if text(value, "kind")? == "test" {
            ApprovalKind::Test
        } else {
            ApprovalKind::SignIn
        },
        prompt,
        context: ApprovalContext {
            app: text(context, "app").unwrap_or_default(),
            ip: text(context, "ip").unwrap_or_default(),
            user_agent: text(context, "user_agent").unwrap_or_default(),
            location: text(context, "location"),
            time: context.get("time").and_then(Value::as_u64).unwrap_or(0),
        },
        expires_at: value.get("expires_at")?.as_u64()?,
    })
}

/// Runs the futures concurrently and answers their outputs in order (no extra crate for one use).
async fn join_all<F: Future + Unpin>(mut futures: Vec<F>) -> Vec<F::Output> {
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match Pin::new(future).poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

fn random_hex() -> String {
    let mut bytes = [0u8; 8];
    let _ = SystemRandom::new().fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
