//! Encrypted backups of the authenticator's accounts: export on one phone, import on another;
//! a wrong passphrase, a changed or cut file, and crafted parameters each give their own error.

use std::sync::Arc;

use authcore::backup::{self, BackupError};
use authcore::otp::{ClockOffset, OtpKind};
use authcore::store::MemoryStore;
use authcore::vault::{Vault, VaultError};

const PASSPHRASE: &str = "correct horse battery staple";
/// A cheap argon2id cost so the suite stays fast; one test uses the real default.
const TEST_KIB: u32 = 256;

fn phone_with_accounts() -> Vault {
    let vault = Vault::open(Arc::new(MemoryStore::default())).unwrap();
    vault
        .add_from_qr("otpauth://totp/Acme:alice@acme.example?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Acme")
        .unwrap();
    vault
        .add_from_qr("otpauth://totp/GitHub:alice?secret=KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU&issuer=GitHub&algorithm=SHA256&digits=8")
        .unwrap();
    vault
        .add_from_qr("otpauth://hotp/Bank:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Bank&counter=41")
        .unwrap();
    vault
}

#[test]
fn a_backup_restores_every_account_on_a_new_phone() {
    let old = phone_with_accounts();
    let hotp = old.accounts()[2].id.clone();
    old.next_hotp_code(&hotp).unwrap(); // counter 41 -> 42 before the backup
    let bytes = old.export_backup_with(PASSPHRASE, TEST_KIB, 1).unwrap();
    assert!(
        !bytes.windows(6).any(|w| w == b"secret"),
        "nothing readable in the file"
    );

    let new = Vault::open(Arc::new(MemoryStore::default())).unwrap();
    let import = new.import_backup(&bytes, PASSPHRASE).unwrap();
    assert_eq!(import.added.len(), 3);
    let names = |v: &Vault| {
        v.accounts()
            .into_iter()
            .map(|a| (a.issuer, a.account, a.kind, a.digits))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&old), names(&new));
    assert!(matches!(
        new.accounts()[2].kind,
        OtpKind::Hotp { counter: 42 }
    ));
    let codes = |v: &Vault| {
        v.codes(1_767_225_600, ClockOffset::ZERO)
            .into_iter()
            .map(|c| c.code.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(codes(&old), codes(&new));

    // importing again adds nothing
    let again = new.import_backup(&bytes, PASSPHRASE).unwrap();
    assert_eq!((again.added.len(), again.duplicates), (0, 3));
}

#[test]
fn a_wrong_passphrase_is_refused() {
    let bytes = phone_with_accounts()
        .export_backup_with(PASSPHRASE, TEST_KIB, 1)
        .unwrap();
    let new = Vault::open(Arc::new(MemoryStore::default())).unwrap();
    assert_eq!(
        new.import_backup(&bytes, "correct horse battery stapler")
            .unwrap_err(),
        VaultError::Backup(BackupError::WrongPassphrase)
    );
    assert!(new.accounts().is_empty());
}

#[test]
fn a_changed_or_cut_file_is_refused() {
    let bytes = phone_with_accounts()
        .export_backup_with(PASSPHRASE, TEST_KIB, 1)
        .unwrap();
    let mut flipped = bytes.clone();
    let last = flipped.len() - 20;
    flipped[last] ^= 0x01;
    assert_eq!(
        backup::open(&flipped, PASSPHRASE).unwrap_err(),
        BackupError::WrongPassphrase
    );
    // the header is authenticated too: a lowered cost is detected
    let two_passes = phone_with_accounts()
        .export_backup_with(PASSPHRASE, TEST_KIB, 2)
        .unwrap();
    let mut cheaper = two_passes.clone();
    cheaper[12] = 1; // passes 2 -> 1
    assert_eq!(
        backup::open(&cheaper, PASSPHRASE).unwrap_err(),
        BackupError::WrongPassphrase
    );
    assert_eq!(
        backup::open(&bytes[..bytes.len() - 1], PASSPHRASE).unwrap_err(),
        BackupError::WrongPassphrase
    );
    assert_eq!(
        backup::open(&bytes[..40], PASSPHRASE).unwrap_err(),
        BackupError::NotABackup
    );
    assert_eq!(
        backup::open(b"otpauth://totp/x?secret=JBSWY3DPEHPK3PXP", PASSPHRASE).unwrap_err(),
        BackupError::NotABackup
    );
}

#[test]
fn crafted_parameters_are_refused_before_any_work() {
    let mut bytes = phone_with_accounts()
        .export_backup_with(PASSPHRASE, TEST_KIB, 1)
        .unwrap();
    bytes[5..9].copy_from_slice(&u32::MAX.to_be_bytes()); // 4 TiB of memory
    assert_eq!(
        backup::open(&bytes, PASSPHRASE).unwrap_err(),
        BackupError::ExcessiveCost {
            memory_kib: u32::MAX,
            passes: 1
        }
    );
    bytes[4] = 2;
    assert_eq!(
        backup::open(&bytes, PASSPHRASE).unwrap_err(),
        BackupError::Unsupported
    );
}

#[test]
fn a_short_passphrase_is_refused() {
    assert_eq!(
        phone_with_accounts().export_backup("short").unwrap_err(),
        VaultError::Backup(BackupError::WeakPassphrase)
    );
}

#[test]
fn the_default_cost_round_trips() {
    let vault = phone_with_accounts();
    let bytes = vault.export_backup(PASSPHRASE).unwrap();
    assert_eq!(&bytes[5..9], &(64 * 1024u32).to_be_bytes());
    let plain = backup::open(&bytes, PASSPHRASE).unwrap();
    assert_eq!(std::str::from_utf8(&plain).unwrap().lines().count(), 3);
}

/// A crafted header: the header is authenticated only by the key derived from it, so the limits
/// must be checked before deriving. Each case would take minutes or gigabytes if derived; each is
/// refused with the numbers it asked for.
#[test]
fn a_header_asking_for_more_than_256_mib_or_10_passes_is_refused_before_deriving() {
    let bytes = phone_with_accounts()
        .export_backup_with(PASSPHRASE, TEST_KIB, 1)
        .unwrap();
    let crafted = |memory_kib: u32, passes: u32| {
        let mut b = bytes.clone();
        b[5..9].copy_from_slice(&memory_kib.to_be_bytes());
        b[9..13].copy_from_slice(&passes.to_be_bytes());
        b
    };
    for (memory_kib, passes) in [
        (256 * 1024 + 1, 1),        // 1 KiB over 256 MiB
        (1024 * 1024, 3),           // 1 GiB, the old limit
        (TEST_KIB, 11),             // one pass over
        (TEST_KIB, u32::MAX),       // four billion passes
        (256 * 1024 + 1, u32::MAX), // both
    ] {
        assert_eq!(
            backup::open(&crafted(memory_kib, passes), PASSPHRASE).unwrap_err(),
            BackupError::ExcessiveCost { memory_kib, passes },
            "{memory_kib} KiB, {passes} passes"
        );
        // Through the vault, as the import screen calls it: nothing imported.
        let new = Vault::open(Arc::new(MemoryStore::default())).unwrap();
        assert_eq!(
            new.import_backup(&crafted(memory_kib, passes), PASSPHRASE)
                .unwrap_err(),
            VaultError::Backup(BackupError::ExcessiveCost { memory_kib, passes })
        );
        assert!(new.accounts().is_empty());
    }
    // At the limit of passes a real backup still opens (the header is authenticated, so this one
    // is sealed with 10 passes rather than edited).
    let ten_passes = phone_with_accounts()
        .export_backup_with(PASSPHRASE, TEST_KIB, 10)
        .unwrap();
    assert_eq!(
        std::str::from_utf8(&backup::open(&ten_passes, PASSPHRASE).unwrap())
            .unwrap()
            .lines()
            .count(),
        3
    );
}

#[test]
fn a_backup_beyond_the_limits_is_never_made() {
    assert_eq!(
        phone_with_accounts()
            .export_backup_with(PASSPHRASE, TEST_KIB, 11)
            .unwrap_err(),
        VaultError::Backup(BackupError::ExcessiveCost {
            memory_kib: TEST_KIB,
            passes: 11
        })
    );
    assert_eq!(
        backup::seal_with(b"x", PASSPHRASE, 256 * 1024 + 1, 1).unwrap_err(),
        BackupError::ExcessiveCost {
            memory_kib: 256 * 1024 + 1,
            passes: 1
        }
    );
}
