//! Push accounts: this phone registered with an identity server, saved in the [`SecureStore`]
//! (never in a backup: each is bound to its device key).

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::channel::Signer;
use super::{lock, Authenticator, AuthenticatorError};
use crate::store::SecureStore;
use crate::transport::TransportError;
use crate::vault::VaultError;

const PUSH_ACCOUNTS: &str = "authenticator/push-accounts";

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
    pub(super) key_alias: String,
}

impl PushAccount {
    /// How the device channel signs for this account.
    pub(super) fn signer(&self) -> Signer<'_> {
        Signer {
            server_url: &self.server_url,
            device_id: &self.device_id,
            key_alias: &self.key_alias,
        }
    }
}

/// The saved push accounts; every change is written to the store before it is seen.
pub(super) struct PushAccounts(Mutex<Vec<PushAccount>>);

impl PushAccounts {
    pub fn open(store: &dyn SecureStore) -> Result<Self, AuthenticatorError> {
        let accounts = match store.get(PUSH_ACCOUNTS)? {
            None => Vec::new(),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map_err(|_| AuthenticatorError::Vault(VaultError::Unreadable))?,
        };
        Ok(PushAccounts(Mutex::new(accounts)))
    }

    pub fn all(&self) -> Vec<PushAccount> {
        lock(&self.0).clone()
    }

    pub fn find(&self, device_id: &str) -> Option<PushAccount> {
        lock(&self.0)
            .iter()
            .find(|a| a.device_id == device_id)
            .cloned()
    }

    pub fn change(
        &self,
        store: &dyn SecureStore,
        edit: impl FnOnce(&mut Vec<PushAccount>),
    ) -> Result<(), AuthenticatorError> {
        let mut accounts = lock(&self.0);
        let mut next = accounts.clone();
        edit(&mut next);
        let bytes =
            serde_json::to_vec(&next).map_err(|_| TransportError::protocol("encoding accounts"))?;
        store.put(PUSH_ACCOUNTS, &bytes)?;
        *accounts = next;
        Ok(())
    }
}

impl Authenticator {
    pub fn push_accounts(&self) -> Vec<PushAccount> {
        self.push.all()
    }

    pub(super) fn push_account(&self, device_id: &str) -> Result<PushAccount, AuthenticatorError> {
        self.push
            .find(device_id)
            .ok_or(AuthenticatorError::UnknownAccount)
    }

    pub(super) fn add_push_account(&self, account: PushAccount) -> Result<(), AuthenticatorError> {
        self.push
            .change(self.store.as_ref(), |accounts| accounts.push(account))
    }

    /// A new label for a push account (on this phone only).
    pub(super) fn relabel(&self, device_id: &str, name: &str) -> Result<(), AuthenticatorError> {
        let name = name.trim().to_owned();
        if name.is_empty() {
            return Err(AuthenticatorError::InvalidQr {
                what: "the name is empty".into(),
            });
        }
        self.push.change(self.store.as_ref(), |accounts| {
            if let Some(account) = accounts.iter_mut().find(|a| a.device_id == device_id) {
                account.label = name;
            }
        })
    }

    /// Forgets a push account and deletes its key.
    pub(super) fn remove_push_account(
        &self,
        account: &PushAccount,
    ) -> Result<(), AuthenticatorError> {
        self.push.change(self.store.as_ref(), |accounts| {
            accounts.retain(|a| a.device_id != account.device_id)
        })?;
        self.keys.delete(&account.key_alias)?;
        Ok(())
    }
}
