//! [`Authenticator`]: the authenticator app. Push accounts (this phone registered with an
//! identity server, answering number-matching requests with its device key) beside TOTP/HOTP
//! code accounts.

use std::collections::HashMap;
use std::sync::Arc;

use authcore::authenticator::{
    Account as CoreAccount, Added as CoreAdded, ApprovalKind as CoreKind,
    ApprovalRequest as CoreRequest, NumberPrompt as CorePrompt, PushAccount as CorePushAccount,
};
use authcore::otp::{OtpKind as CoreOtpKind, OtpWarning as CoreWarning};
use authcore::vault::{AccountId, QrImport as CoreImport};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum OtpKind {
    Totp { period: u32 },
    Hotp { counter: u64 },
}

/// A TOTP/HOTP account of the code list.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OtpAccount {
    pub id: String,
    pub issuer: Option<String>,
    /// The account name within the issuer ("alice@acme.example").
    pub name: String,
    pub kind: OtpKind,
    pub digits: u8,
}

/// One line of the account list: push accounts first, then code accounts in their order.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum Account {
    Push { account: PushAccount },
    Otp { account: OtpAccount },
}

/// The current code of a TOTP account.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct AccountCode {
    pub id: String,
    pub code: String,
    pub seconds_left: u32,
    pub period: u32,
}

impl std::fmt::Debug for AccountCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountCode")
            .field("id", &self.id)
            .field("seconds_left", &self.seconds_left)
            .finish_non_exhaustive()
    }
}

/// Something odd about a scanned account, accepted anyway.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum OtpWarning {
    /// The secret is shorter than 128 bits.
    WeakSecret { bits: u32 },
    /// The label's issuer and the `issuer` parameter differ; the parameter was used.
    IssuerMismatch { label: String, parameter: String },
}

/// A batch of a Google Authenticator export ("batch 2 of 3").
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BatchProgress {
    pub description: String,
    /// Zero-based indexes of the batches not scanned yet.
    pub missing: Vec<u32>,
}

/// What a scanned code account QR (or an imported backup) added.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct QrImport {
    pub added: Vec<String>,
    /// Accounts already in the list, skipped.
    pub duplicates: u32,
    pub warnings: Vec<OtpWarning>,
    pub batch: Option<BatchProgress>,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ApprovalKind {
    SignIn,
    /// The test approval that finishes an enrollment.
    Test,
}

/// How the user answers: type the number the sign-in screen shows, or pick it among choices.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum NumberPrompt {
    Enter { length: u32 },
    Choose { choices: Vec<String> },
}

/// Where the sign-in comes from, shown with the number prompt.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
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

/// A sign-in waiting for this phone; answer it by its `id` with `approve`, `deny` or
/// `report_fraud`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
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
                CoreAccount::Otp(otp) => Account::Otp {
                    account: OtpAccount {
                        id: otp.id.0,
                        issuer: otp.issuer,
                        name: otp.account,
                        kind: match otp.kind {
                            CoreOtpKind::Totp { period } => OtpKind::Totp {
                                period: period.seconds(),
                            },
                            CoreOtpKind::Hotp { counter } => OtpKind::Hotp { counter },
                        },
                        digits: otp.digits,
                    },
                },
            })
            .collect()
    }

    /// The code of every TOTP account at `now` (unix seconds), with the seconds it has left.
    pub fn codes(&self, now: u64) -> Vec<AccountCode> {
        self.core
            .codes(now)
            .into_iter()
            .map(|c| AccountCode {
                id: c.id.0,
                code: c.code.as_str().to_owned(),
                seconds_left: c.seconds_left,
                period: c.period,
            })
            .collect()
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
            CoreAdded::Otp(import) => Added::Otp {
                import: qr_import(import),
            },
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
        let requests = run(async move { core.pending_approvals(wait_seconds).await }).await?;
        Ok(requests.into_iter().map(approval_request).collect())
    }

    /// An OS push arrived (its data: `device_id`, `request_id`): fetches that request over TLS.
    /// `None` when it was already answered or expired.
    pub async fn handle_push_payload(
        &self,
        payload: HashMap<String, String>,
    ) -> Result<Option<ApprovalRequest>, AuthenticatorError> {
        let core = self.core.clone();
        let request = run(async move { core.handle_push_payload(&payload).await }).await?;
        Ok(request.map(approval_request))
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
        let import = run_blocking(move || core.import_backup(&backup, &passphrase)).await?;
        Ok(qr_import(import))
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

fn qr_import(import: CoreImport) -> QrImport {
    QrImport {
        added: import.added.into_iter().map(|id| id.0).collect(),
        duplicates: import.duplicates.try_into().unwrap_or(u32::MAX),
        warnings: import
            .warnings
            .into_iter()
            .map(|w| match w {
                CoreWarning::WeakSecret { bits } => OtpWarning::WeakSecret {
                    bits: bits.try_into().unwrap_or(u32::MAX),
                },
                CoreWarning::IssuerMismatch { label, parameter } => {
                    OtpWarning::IssuerMismatch { label, parameter }
                }
            })
            .collect(),
        batch: import.batch.map(|b| BatchProgress {
            description: b.description,
            missing: b.missing,
        }),
    }
}

fn approval_request(request: CoreRequest) -> ApprovalRequest {
    ApprovalRequest {
        id: request.id,
        account: request.account,
        account_label: request.account_label,
        kind: match request.kind {
            CoreKind::SignIn => ApprovalKind::SignIn,
            CoreKind::Test => ApprovalKind::Test,
        },
        prompt: match request.prompt {
            CorePrompt::Enter { length } => NumberPrompt::Enter { length },
            CorePrompt::Choose { choices } => NumberPrompt::Choose { choices },
        },
        context: ApprovalContext {
            app: request.context.app,
            ip: request.context.ip,
            user_agent: request.context.user_agent,
            location: request.context.location,
            time: request.context.time,
        },
        expires_at: request.expires_at,
    }
}
