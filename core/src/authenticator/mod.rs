//! The authenticator app's core: push accounts (a device key registered with an identity server,
//! answering number-matching sign-in requests) beside the TOTP/HOTP accounts of the [`Vault`].
//!
//! One file per job: enrollment (QR code or typed activation code), approvals (the pending list, its long-poll, OS pushes, approve / deny / report fraud), the push
//! accounts, and the vault's code accounts. Everything the phone sends to the server goes through
//! one signed device channel (docs/protocol.md "Signed device requests"; the messages are
//! [`crate::device_protocol`]) on the one transport ([`crate::transport`]). Approving always goes
//! through the app's [`UserVerification`] first: there is no way to approve without it. Push
//! accounts are bound to their device key and are never exported in a backup.

mod approvals;
mod channel;
mod enrollment;
mod push_accounts;
mod vault_accounts;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

pub use approvals::{ApprovalContext, ApprovalKind, ApprovalRequest, NumberPrompt};
pub use push_accounts::PushAccount;

use crate::device_keys::{DeviceKeys, KeyError};
use crate::http::{HttpClient, HttpConfig};
use crate::store::{SecureStore, StoreError};
use crate::transport::TransportError;
use crate::vault::{AccountId, AccountSummary, QrImport, Vault, VaultError};
use approvals::Pending;
use channel::DeviceChannel;
use push_accounts::PushAccounts;

/// How this phone introduces itself when it registers.
#[derive(Debug, Clone)]
pub struct AuthenticatorConfig {
    pub http: HttpConfig,
    /// "Dave's Pixel"
    pub device_name: String,
    /// `android`, `ios`, `harness`
    pub platform: String,
    /// The OS push token (FCM/APNs), when notifications are set up: sent when the phone
    /// registers with a server. A new token later goes to every server with
    /// [`Authenticator::update_push_token`].
    pub push_token: Option<String>,
    /// The device keys require biometrics or the device PIN (enables phone sign-in).
    pub user_verification: bool,
}

/// Asks the person holding the phone to prove it is them (biometric prompt, device PIN) before an
/// approval is signed. Implemented by the app; a `false` answer sends nothing.
pub trait UserVerification: Send + Sync {
    fn verify_user(&self, reason: String) -> Pin<Box<dyn Future<Output = bool> + Send>>;
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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthenticatorError {
    /// No usable answer from the server (network, timeout, TLS, a refused URL, a server failure,
    /// an answer outside the protocol): the same failures as sign-in's.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The scanned code is not an authenticator QR code, or a malformed one.
    #[error("{what}")]
    InvalidQr { what: String },
    /// The activation code is unknown, used, or replaced by a newer one.
    #[error("the activation code is not valid; ask for a new QR code")]
    InvalidActivationCode,
    /// The activation code or the request expired (on the server, or on this phone for a request
    /// it fetched).
    #[error("it expired")]
    Expired,
    #[error("this request was already answered")]
    AlreadyAnswered,
    /// The server no longer knows this request, or this phone never fetched it (fetch the
    /// pending approvals again).
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
    /// The server needs a newer version of this app (one that speaks its device protocol).
    #[error("this app must be updated to approve sign-ins; update it from the app store")]
    UpgradeRequired,
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Storage(#[from] StoreError),
}

/// The authenticator. Methods are safe to call from several tasks.
pub struct Authenticator {
    vault: Vault,
    store: Arc<dyn SecureStore>,
    keys: Arc<dyn DeviceKeys>,
    verification: Arc<dyn UserVerification>,
    channel: DeviceChannel,
    config: AuthenticatorConfig,
    push: PushAccounts,
    /// The approval requests fetched and not expired, by id.
    pending: Pending,
    /// The OS push token registrations send (the config's, then the latest update's).
    push_token: Mutex<Option<String>>,
}

impl Authenticator {
    pub fn open(
        store: Arc<dyn SecureStore>,
        keys: Arc<dyn DeviceKeys>,
        verification: Arc<dyn UserVerification>,
        config: AuthenticatorConfig,
    ) -> Result<Self, AuthenticatorError> {
        let http = HttpClient::new(config.http.clone()).map_err(TransportError::from)?;
        Ok(Authenticator {
            push: PushAccounts::open(store.as_ref())?,
            vault: Vault::open(store.clone())?,
            channel: DeviceChannel::new(http, keys.clone()),
            store,
            keys,
            verification,
            push_token: Mutex::new(config.push_token.clone()),
            config,
            pending: Pending::default(),
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

    /// Renames a code account, or relabels a push account (on this phone only).
    pub fn rename(&self, id: &AccountId, name: &str) -> Result<(), AuthenticatorError> {
        match self.push.find(&id.0) {
            Some(_) => self.relabel(&id.0, name),
            None => self.rename_code_account(id, name),
        }
    }

    /// Removes an account from this phone; a push account's key is deleted too (remove the
    /// device from the account on the server as well, from a signed-in session).
    pub fn delete(&self, id: &AccountId) -> Result<(), AuthenticatorError> {
        match self.push.find(&id.0) {
            Some(account) => self.remove_push_account(&account),
            None => Ok(self.vault.delete(id)?),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
