//! The authenticator's third-party accounts (TOTP/HOTP), kept in a [`SecureStore`].
//!
//! All accounts live in one store entry (`vault/accounts`), one line per account in display
//! order: `id TAB otpauth-uri`. One entry means every change, a migration batch of ten accounts
//! included, is one atomic `put`: after a crash the vault is wholly before or wholly after it.
//! The otpauth URI is the record format because `uri::format`/`uri::parse` round-trip every
//! account (property-tested), HOTP counters included.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::backup::{self, BackupError};
use crate::otp::migration::{self, MigrationError};
use crate::otp::uri::{self, UriError};
use crate::otp::{ClockOffset, Code, OtpAccount, OtpKind, OtpWarning};
use crate::store::{SecureStore, StoreError};

const ENTRY: &str = "vault/accounts";

/// A stable identifier of one account in the vault.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(pub String);

#[cfg(feature = "uniffi")]
uniffi::custom_type!(AccountId, String, {
    lower: |id| id.0,
    try_lift: |id| Ok(AccountId(id)),
});

/// What a list screen shows of an account (no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "uniffi",
    derive(uniffi::Record),
    uniffi(name = "OtpAccount")
)]
pub struct AccountSummary {
    pub id: AccountId,
    pub issuer: Option<String>,
    /// The account name within the issuer ("alice@acme.example").
    #[cfg_attr(feature = "uniffi", uniffi(name = "name"))]
    pub account: String,
    pub kind: OtpKind,
    pub digits: u8,
}

/// A code ready to show: TOTP codes carry their countdown; HOTP accounts show no code until the
/// user asks for the next one ([`Vault::next_hotp_code`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AccountCode {
    pub id: AccountId,
    pub code: Code,
    pub seconds_left: u32,
    pub period: u32,
}

/// What scanning a QR code added.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct QrImport {
    pub added: Vec<AccountId>,
    /// Accounts already in the vault (same issuer, name and secret), not added twice.
    pub duplicates: u32,
    pub warnings: Vec<OtpWarning>,
    /// For a Google Authenticator export: which batch this was and which are still to scan.
    pub batch: Option<BatchProgress>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct BatchProgress {
    /// "batch 2 of 3"
    pub description: String,
    /// Zero-based indexes of the batches of this export not scanned yet.
    pub missing: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no such account")]
    UnknownAccount,
    #[error("this account shows time-based codes")]
    NotHotp,
    #[error("this QR code is not an authenticator code")]
    UnsupportedQr,
    #[error("the QR code's account is invalid: {0}")]
    InvalidUri(#[from] UriError),
    #[error("the export QR code could not be read: {0}")]
    InvalidExport(#[from] MigrationError),
    #[error(transparent)]
    Backup(#[from] BackupError),
    #[error("the order must name every account exactly once")]
    InvalidOrder,
    /// The stored entry decrypted but does not parse: a bug or a newer format, never silently
    /// replaced.
    #[error("the stored accounts are unreadable")]
    Unreadable,
}

/// The account vault. Methods are safe to call from several threads.
pub struct Vault {
    store: Arc<dyn SecureStore>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    accounts: Vec<(AccountId, OtpAccount)>,
    /// Export batches seen this session, by batch id.
    batches_seen: BTreeMap<i32, BTreeSet<u32>>,
}

impl Vault {
    /// Loads the vault from `store` (empty if it has never been saved).
    pub fn open(store: Arc<dyn SecureStore>) -> Result<Self, VaultError> {
        let accounts = match store.get(ENTRY)? {
            None => Vec::new(),
            Some(bytes) => decode(&Zeroizing::new(bytes))?,
        };
        Ok(Vault {
            store,
            state: Mutex::new(State {
                accounts,
                batches_seen: BTreeMap::new(),
            }),
        })
    }

    pub fn accounts(&self) -> Vec<AccountSummary> {
        self.lock()
            .accounts
            .iter()
            .map(|(id, a)| AccountSummary {
                id: id.clone(),
                issuer: a.issuer.clone(),
                account: a.account.clone(),
                kind: a.kind,
                digits: a.digits.get(),
            })
            .collect()
    }

    /// The current code of every TOTP account at device time `now`, in display order.
    pub fn codes(&self, now: u64, offset: ClockOffset) -> Vec<AccountCode> {
        self.lock()
            .accounts
            .iter()
            .filter_map(|(id, account)| {
                let totp = account.totp()?;
                let code = totp.code(now, offset);
                Some(AccountCode {
                    id: id.clone(),
                    code: code.code,
                    seconds_left: code.seconds_left,
                    period: totp.period().seconds(),
                })
            })
            .collect()
    }

    /// Adds what a scanned QR code carries: an `otpauth://` account or a Google Authenticator
    /// export batch. The vault is saved before this returns.
    pub fn add_from_qr(&self, payload: &str) -> Result<QrImport, VaultError> {
        let trimmed = payload.trim();
        let lower = trimmed.get(..21).unwrap_or(trimmed).to_ascii_lowercase();
        if lower.starts_with("otpauth-migration://") {
            let batch = migration::import(trimmed)?;
            let mut state = self.lock();
            let seen = state.batches_seen.entry(batch.batch_id).or_default();
            seen.insert(batch.batch_index);
            let seen: Vec<u32> = seen.iter().copied().collect();
            let progress = BatchProgress {
                description: batch.describe(),
                missing: batch.missing(&seen),
            };
            let warnings = batch.warnings.into_iter().map(|(_, w)| w).collect();
            let mut import = self.add_accounts(&mut state, batch.accounts)?;
            import.warnings = warnings;
            import.batch = Some(progress);
            Ok(import)
        } else if lower.starts_with("otpauth://") {
            let parsed = uri::parse(trimmed)?;
            let mut state = self.lock();
            let mut import = self.add_accounts(&mut state, vec![parsed.account])?;
            import.warnings = parsed.warnings;
            Ok(import)
        } else {
            Err(VaultError::UnsupportedQr)
        }
    }

    /// The next code of an HOTP account. The advanced counter is saved before the code is
    /// returned, so a code once shown is never shown again, even after a crash.
    pub fn next_hotp_code(&self, id: &AccountId) -> Result<Code, VaultError> {
        let mut state = self.lock();
        let index = position(&state, id)?;
        let account = &state.accounts[index].1;
        let (hotp, counter) = account.hotp().ok_or(VaultError::NotHotp)?;
        let code = hotp.code(counter);
        let mut next = state.accounts.clone();
        next[index].1.kind = OtpKind::Hotp {
            counter: counter.wrapping_add(1),
        };
        self.save(&next)?;
        state.accounts = next;
        Ok(code)
    }

    pub fn rename(
        &self,
        id: &AccountId,
        issuer: Option<String>,
        account: String,
    ) -> Result<(), VaultError> {
        self.change(|accounts| {
            let index = accounts
                .iter()
                .position(|(i, _)| i == id)
                .ok_or(VaultError::UnknownAccount)?;
            accounts[index].1.issuer = issuer.filter(|i| !i.trim().is_empty());
            accounts[index].1.account = account.trim().to_owned();
            Ok(())
        })
    }

    pub fn delete(&self, id: &AccountId) -> Result<(), VaultError> {
        self.change(|accounts| {
            let index = accounts
                .iter()
                .position(|(i, _)| i == id)
                .ok_or(VaultError::UnknownAccount)?;
            accounts.remove(index);
            Ok(())
        })
    }

    /// Puts the accounts in the order given, which must name each account exactly once.
    pub fn reorder(&self, order: &[AccountId]) -> Result<(), VaultError> {
        self.change(|accounts| {
            let mut sorted: Vec<_> = order.to_vec();
            sorted.sort();
            sorted.dedup();
            if sorted.len() != order.len() || order.len() != accounts.len() {
                return Err(VaultError::InvalidOrder);
            }
            let mut reordered = Vec::with_capacity(accounts.len());
            for id in order {
                let index = accounts
                    .iter()
                    .position(|(i, _)| i == id)
                    .ok_or(VaultError::InvalidOrder)?;
                reordered.push(accounts[index].clone());
            }
            *accounts = reordered;
            Ok(())
        })
    }

    /// Every account, encrypted under `passphrase` (see [`crate::backup`]).
    pub fn export_backup(&self, passphrase: &str) -> Result<Vec<u8>, VaultError> {
        self.export_backup_with(passphrase, backup::MEMORY_KIB, backup::PASSES)
    }

    /// [`Vault::export_backup`] with an explicit argon2id cost.
    pub fn export_backup_with(
        &self,
        passphrase: &str,
        memory_kib: u32,
        passes: u32,
    ) -> Result<Vec<u8>, VaultError> {
        let text = {
            let state = self.lock();
            let mut text = Zeroizing::new(String::new());
            for (_, account) in &state.accounts {
                text.push_str(&uri::format(account));
                text.push('\n');
            }
            text
        };
        Ok(backup::seal_with(
            text.as_bytes(),
            passphrase,
            memory_kib,
            passes,
        )?)
    }

    /// Adds the accounts of a backup; accounts already here are not added twice.
    pub fn import_backup(&self, bytes: &[u8], passphrase: &str) -> Result<QrImport, VaultError> {
        let plain = backup::open(bytes, passphrase)?;
        let text = std::str::from_utf8(&plain).map_err(|_| BackupError::Unreadable)?;
        let accounts = text
            .lines()
            .map(|line| uri::parse(line).map(|p| p.account))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| BackupError::Unreadable)?;
        let mut state = self.lock();
        self.add_accounts(&mut state, accounts)
    }

    fn add_accounts(
        &self,
        state: &mut State,
        new: Vec<OtpAccount>,
    ) -> Result<QrImport, VaultError> {
        let mut next = state.accounts.clone();
        let mut added = Vec::new();
        let mut duplicates = 0;
        for account in new {
            let duplicate = next.iter().any(|(_, existing)| {
                existing.secret == account.secret
                    && existing.issuer == account.issuer
                    && existing.account == account.account
            });
            if duplicate {
                duplicates += 1;
                continue;
            }
            let id = new_id();
            added.push(id.clone());
            next.push((id, account));
        }
        if !added.is_empty() {
            self.save(&next)?;
            state.accounts = next;
        }
        Ok(QrImport {
            added,
            duplicates,
            warnings: Vec::new(),
            batch: None,
        })
    }

    /// Applies `edit` to a copy, saves it, and only then makes it current.
    fn change(
        &self,
        edit: impl FnOnce(&mut Vec<(AccountId, OtpAccount)>) -> Result<(), VaultError>,
    ) -> Result<(), VaultError> {
        let mut state = self.lock();
        let mut next = state.accounts.clone();
        edit(&mut next)?;
        self.save(&next)?;
        state.accounts = next;
        Ok(())
    }

    fn save(&self, accounts: &[(AccountId, OtpAccount)]) -> Result<(), VaultError> {
        let mut text = Zeroizing::new(String::new());
        for (id, account) in accounts {
            text.push_str(&id.0);
            text.push('\t');
            text.push_str(&uri::format(account));
            text.push('\n');
        }
        self.store.put(ENTRY, text.as_bytes())?;
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn position(state: &State, id: &AccountId) -> Result<usize, VaultError> {
    state
        .accounts
        .iter()
        .position(|(i, _)| i == id)
        .ok_or(VaultError::UnknownAccount)
}

fn decode(bytes: &[u8]) -> Result<Vec<(AccountId, OtpAccount)>, VaultError> {
    let text = std::str::from_utf8(bytes).map_err(|_| VaultError::Unreadable)?;
    text.lines()
        .map(|line| {
            let (id, uri) = line.split_once('\t').ok_or(VaultError::Unreadable)?;
            let parsed = uri::parse(uri).map_err(|_| VaultError::Unreadable)?;
            Ok((AccountId(id.to_owned()), parsed.account))
        })
        .collect()
}

fn new_id() -> AccountId {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system random source failed");
    AccountId(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
