//! [`Authenticator`]: the authenticator app. Push accounts (this phone registered with an
//! identity server, answering number-matching requests with its device key) beside TOTP/HOTP
//! code accounts.

use std::collections::HashMap;
use std::sync::Arc;

use authcore::authenticator::{
    Account as CoreAccount, Added as CoreAdded, ApprovalRequest, PushAccount as CorePushAccount,
};
use authcore::vault::{AccountCode, AccountId, AccountSummary, QrImport};
use authcore::Timestamp;

use crate::client::http_config;
use crate::errors::AuthenticatorError;
use crate::platform::{
    DeviceKeys, KeysAdapter, SecureStore, StoreAdapter, UserVerification, VerificationAdapter,
};
use crate::runtime::{run, run_blocking};

/// How this phone introduces itself when it registers, and how it reaches servers.
#[derive(Debug, Clone, uniffi::Record)]
pub struct AuthenticatorConfig {
    /// "Dave's Pixel"
    pub device_name: String,
    /// `android`, `ios`
    pub platform: String,
    /// The FCM / APNs token, when notifications are set up.
    #[uniffi(default = None)]
    pub push_token: Option<String>,
    /// The device keys require biometrics or the device PIN (enables phone sign-in).
    pub user_verification: bool,
    /// A PEM root certificate to trust besides the public roots.
    #[uniffi(default = None)]
    pub extra_root_ca_pem: Option<String>,
    /// Host names resolved to fixed IP addresses instead of DNS.
    #[uniffi(default)]
    pub resolve: HashMap<String, String>,
}

/// This phone registered with an identity server.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PushAccount {
    /// The server's device id (`dv_…`), also the account's id.
    pub device_id: String,
    /// "Globex: dave@globex.example"
    pub label: String,
    pub server_url: String,
    pub user_verification: bool,
    /// The server verified the platform's attestation of the key.
    pub attested: bool,
    /// Phone sign-in without a password reaches this account (false: tell the user it
    /// approves sign-ins after a password only).
    pub passwordless: bool,
}

/// One line of the account list: push accounts first, then code accounts in their order.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum Account {
    Push { account: PushAccount },
    Otp { account: AccountSummary },
}

/// What scanning a QR code added.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum Added {
    /// Registered with the server; its test approval waits in `pending_approvals`.
    Push {
        account: PushAccount,
    },
    Otp {
        import: QrImport,
    },
}

/// The authenticator app over the app's store, device keys and biometric prompt.
#[derive(uniffi::Object)]
pub struct Authenticator {
    core: Arc<authcore::authenticator::Authenticator>,
}

#[uniffi::export]
impl Authenticator {
    /// Opens the accounts saved in `store`.
    #[uniffi::constructor]
    pub fn new(
        store: Arc<dyn SecureStore>,
        keys: Arc<dyn DeviceKeys>,
        verification: Arc<dyn UserVerification>,
        config: AuthenticatorConfig,
    ) -> Result<Arc<Self>, AuthenticatorError> {
        let http = http_config(config.extra_root_ca_pem, config.resolve)
            .map_err(|what| AuthenticatorError::InvalidConfig { what })?;
        let core = authcore::authenticator::Authenticator::open(
            Arc::new(StoreAdapter(store)),
            Arc::new(KeysAdapter(keys)),
            Arc::new(VerificationAdapter(verification)),
            authcore::authenticator::AuthenticatorConfig {
                http,
                device_name: config.device_name,
                platform: config.platform,
                push_token: config.push_token,
                user_verification: config.user_verification,
            },
        )?;
        Ok(Arc::new(Authenticator {
            core: Arc::new(core),
        }))
    }

    pub fn accounts(&self) -> Vec<Account> {
        self.core
            .accounts()
            .into_iter()
            .map(|account| match account {
                CoreAccount::Push(push) => Account::Push {
                    account: push_account(push),
                },
                CoreAccount::Otp(account) => Account::Otp { account },
            })
            .collect()
    }

    /// The code of every TOTP account at `now`, with the seconds it has left.
    pub fn codes(&self, now: Timestamp) -> Vec<AccountCode> {
        self.core.codes(now.unix_seconds())
    }

    /// The next code of an HOTP account (advances its counter).
    pub fn next_hotp_code(&self, id: String) -> Result<String, AuthenticatorError> {
        let code = self.core.vault().next_hotp_code(&AccountId(id))?;
        Ok(code.as_str().to_owned())
    }

    /// A scanned QR code: `otpauth://`, `otpauth-migration://` or `authcore://enroll` (registers
    /// this phone with the server, with a new device key).
    pub async fn add_from_qr(&self, payload: String) -> Result<Added, AuthenticatorError> {
        let core = self.core.clone();
        let added = run(async move { core.add_from_qr(&payload).await }).await?;
        Ok(match added {
            CoreAdded::Push(account) => Added::Push {
                account: push_account(account),
            },
            CoreAdded::Otp(import) => Added::Otp { import },
        })
    }

    /// "Can't scan image?": the activation code and server URL typed by hand.
    pub async fn activate_manually(
        &self,
        activation_code: String,
        server_url: String,
    ) -> Result<PushAccount, AuthenticatorError> {
        let code = zeroize::Zeroizing::new(activation_code);
        let core = self.core.clone();
        let account = run(async move { core.activate_manually(&code, &server_url).await }).await?;
        Ok(push_account(account))
    }

    /// The requests waiting for this phone. With `wait_seconds` > 0 and nothing pending, waits
    /// (long-polls) until one arrives or the time is up; cancel the call to stop waiting.
    pub async fn pending_approvals(
        &self,
        wait_seconds: u32,
    ) -> Result<Vec<ApprovalRequest>, AuthenticatorError> {
        let core = self.core.clone();
        Ok(run(async move { core.pending_approvals(wait_seconds).await }).await?)
    }

    /// An OS push arrived (its data: `device_id`, `request_id`): fetches that request over TLS.
    /// `None` when it was already answered or expired.
    pub async fn handle_push_payload(
        &self,
        payload: HashMap<String, String>,
    ) -> Result<Option<ApprovalRequest>, AuthenticatorError> {
        let core = self.core.clone();
        Ok(run(async move { core.handle_push_payload(&payload).await }).await?)
    }

    /// "Approve" the request `request_id` (one `pending_approvals` or `handle_push_payload`
    /// answered) with the number typed or chosen: the app's `UserVerification` runs first;
    /// nothing is sent unless it passes. An id this authenticator did not fetch is
    /// `UnknownRequest`, one whose time is up `Expired`.
    pub async fn approve(
        &self,
        request_id: String,
        number: String,
    ) -> Result<(), AuthenticatorError> {
        let core = self.core.clone();
        Ok(run(async move { core.approve(&request_id, &number).await }).await?)
    }

    /// "Deny" the request `request_id`: the sign-in fails.
    pub async fn deny(&self, request_id: String) -> Result<(), AuthenticatorError> {
        let core = self.core.clone();
        Ok(run(async move { core.deny(&request_id).await }).await?)
    }

    /// "Report fraud" on the request `request_id`: denies it, and the server pauses pushes to
    /// this account for a while.
    pub async fn report_fraud(&self, request_id: String) -> Result<(), AuthenticatorError> {
        let core = self.core.clone();
        Ok(run(async move { core.report_fraud(&request_id).await }).await?)
    }

    /// The OS gave this phone a new push token (FCM `onNewToken`, APNs
    /// `didRegisterForRemoteNotificationsWithDeviceToken`, hex), or `null` when notifications
    /// were turned off: every push account's server gets it, and accounts added later register
    /// with it. Every server is tried; the first failure is thrown (calling again is harmless).
    pub async fn update_push_token(&self, token: Option<String>) -> Result<(), AuthenticatorError> {
        let core = self.core.clone();
        Ok(run(async move { core.update_push_token(token.as_deref()).await }).await?)
    }

    /// Renames a code account, or relabels a push account (on this phone only).
    pub fn rename(&self, id: String, name: String) -> Result<(), AuthenticatorError> {
        Ok(self.core.rename(&AccountId(id), &name)?)
    }

    /// Removes an account from this phone (a push account's key too).
    pub fn delete(&self, id: String) -> Result<(), AuthenticatorError> {
        Ok(self.core.delete(&AccountId(id))?)
    }

    /// Every code account, encrypted under `passphrase` (push accounts stay on this phone).
    pub async fn export_backup(&self, passphrase: String) -> Result<Vec<u8>, AuthenticatorError> {
        let core = self.core.clone();
        let passphrase = zeroize::Zeroizing::new(passphrase);
        Ok(run_blocking(move || core.export_backup(&passphrase)).await?)
    }

    pub async fn import_backup(
        &self,
        backup: Vec<u8>,
        passphrase: String,
    ) -> Result<QrImport, AuthenticatorError> {
        let core = self.core.clone();
        let passphrase = zeroize::Zeroizing::new(passphrase);
        Ok(run_blocking(move || core.import_backup(&backup, &passphrase)).await?)
    }
}

fn push_account(account: CorePushAccount) -> PushAccount {
    PushAccount {
        device_id: account.device_id,
        label: account.label,
        server_url: account.server_url,
        user_verification: account.user_verification,
        attested: account.attested,
        passwordless: account.passwordless,
    }
}
