//! The code accounts (TOTP/HOTP) of the [`Vault`], beside the push accounts: codes, renaming,
//! encrypted backups.

use super::{Authenticator, AuthenticatorError};
use crate::otp::ClockOffset;
use crate::vault::{AccountCode, AccountId, QrImport, Vault};

impl Authenticator {
    /// The current code of every TOTP account at `now` (unix seconds), with seconds left.
    pub fn codes(&self, now: u64) -> Vec<AccountCode> {
        self.vault.codes(now, ClockOffset::ZERO)
    }

    /// The code accounts (TOTP/HOTP): rename, reorder, HOTP next code, backups.
    pub fn vault(&self) -> &Vault {
        &self.vault
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

    /// Renames a code account (its issuer stays).
    pub(super) fn rename_code_account(
        &self,
        id: &AccountId,
        name: &str,
    ) -> Result<(), AuthenticatorError> {
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
}
