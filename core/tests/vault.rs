//! The authenticator's account list as a user lives it: scan, see codes, rename, reorder, delete,
//! import a Google Authenticator export in batches, press "next code" on an HOTP token.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use authcore::otp::{migration, uri, ClockOffset, OtpKind, OtpWarning};
use authcore::store::{SecureStore, StoreError};
use authcore::vault::{AccountId, Vault, VaultError};

/// An in-memory store that can be told to fail its writes (a full disk, a crash mid-write).
#[derive(Default)]
struct MemoryStore {
    entries: Mutex<BTreeMap<String, Vec<u8>>>,
    fail_writes: AtomicBool,
}

impl SecureStore for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.entries.lock().unwrap().get(key).cloned())
    }
    fn put(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        if self.fail_writes.load(Ordering::SeqCst) {
            return Err(StoreError::Io {
                action: "write its file",
                kind: "storage full".into(),
            });
        }
        self.entries
            .lock()
            .unwrap()
            .insert(key.into(), value.to_vec());
        Ok(())
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.entries.lock().unwrap().remove(key);
        Ok(())
    }
    fn list(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.entries.lock().unwrap().keys().cloned().collect())
    }
}

const RFC: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

fn vault() -> (Arc<MemoryStore>, Vault) {
    let store = Arc::new(MemoryStore::default());
    let vault = Vault::open(store.clone()).unwrap();
    (store, vault)
}

#[test]
fn scanned_account_shows_its_code_and_survives_a_restart() {
    let (store, vault) = vault();
    let import = vault
        .add_from_qr(&format!("otpauth://totp/Acme:alice?secret={RFC}&digits=8"))
        .unwrap();
    assert_eq!(import.added.len(), 1);
    assert_eq!(import.duplicates, 0);
    let codes = vault.codes(59, ClockOffset::ZERO);
    assert_eq!(codes.len(), 1);
    assert_eq!(codes[0].code.as_str(), "94287082");
    assert_eq!((codes[0].seconds_left, codes[0].period), (1, 30));

    let reopened = Vault::open(store).unwrap();
    let accounts = reopened.accounts();
    assert_eq!(accounts[0].issuer.as_deref(), Some("Acme"));
    assert_eq!(accounts[0].account, "alice");
    assert_eq!(
        reopened.codes(59, ClockOffset::ZERO)[0].code.as_str(),
        "94287082"
    );
}

#[test]
fn scanning_the_same_account_twice_adds_it_once() {
    let (_, vault) = vault();
    let qr = format!("otpauth://totp/Acme:alice?secret={RFC}");
    vault.add_from_qr(&qr).unwrap();
    let again = vault.add_from_qr(&qr).unwrap();
    assert_eq!((again.added.len(), again.duplicates), (0, 1));
    assert_eq!(vault.accounts().len(), 1);
}

#[test]
fn weak_secrets_are_added_with_their_warning() {
    let (_, vault) = vault();
    let import = vault
        .add_from_qr("otpauth://totp/a?secret=JBSWY3DPEHPK3PXP")
        .unwrap();
    assert_eq!(import.warnings, vec![OtpWarning::WeakSecret { bits: 80 }]);
}

#[test]
fn an_export_in_three_batches_says_what_is_still_missing() {
    let accounts: Vec<_> = (0..25)
        .map(|i| {
            uri::parse(&format!("otpauth://totp/Issuer{i}:user{i}?secret={RFC}"))
                .unwrap()
                .account
        })
        .collect();
    let qrs = migration::export(&accounts, 314).unwrap();
    let (_, vault) = vault();
    let first = vault.add_from_qr(&qrs[0]).unwrap();
    let progress = first.batch.unwrap();
    assert_eq!(progress.description, "batch 1 of 3");
    assert_eq!(progress.missing, vec![1, 2]);
    assert_eq!(first.added.len(), 10);
    let third = vault.add_from_qr(&qrs[2]).unwrap().batch.unwrap();
    assert_eq!(
        (third.description.as_str(), third.missing.as_slice()),
        ("batch 3 of 3", &[1][..])
    );
    let second = vault.add_from_qr(&qrs[1]).unwrap().batch.unwrap();
    assert_eq!(second.missing, Vec::<u32>::new());
    assert_eq!(vault.accounts().len(), 25);
}

#[test]
fn hotp_counter_is_saved_before_the_code_is_shown() {
    let (store, vault) = vault();
    let id = vault
        .add_from_qr(&format!("otpauth://hotp/Bank:me?secret={RFC}&counter=0"))
        .unwrap()
        .added
        .remove(0);
    assert_eq!(
        vault.codes(0, ClockOffset::ZERO),
        vec![],
        "HOTP shows no code until asked"
    );
    assert_eq!(vault.next_hotp_code(&id).unwrap().as_str(), "755224");

    // The disk fills up: no code is shown, and the counter has not moved.
    store.fail_writes.store(true, Ordering::SeqCst);
    assert!(matches!(
        vault.next_hotp_code(&id),
        Err(VaultError::Store(StoreError::Io { .. }))
    ));
    store.fail_writes.store(false, Ordering::SeqCst);

    // After a restart, the next code is counter 1's: counter 0's is never shown twice.
    let reopened = Vault::open(store).unwrap();
    assert_eq!(reopened.accounts()[0].kind, OtpKind::Hotp { counter: 1 });
    assert_eq!(reopened.next_hotp_code(&id).unwrap().as_str(), "287082");
}

#[test]
fn rename_reorder_and_delete() {
    let (store, vault) = vault();
    let a = vault
        .add_from_qr(&format!("otpauth://totp/A:a?secret={RFC}"))
        .unwrap()
        .added
        .remove(0);
    let b = vault
        .add_from_qr("otpauth://totp/B:b?secret=JBSWY3DPEHPK3PXPJBSWY3DP")
        .unwrap()
        .added
        .remove(0);
    vault
        .rename(&a, Some("Acme".into()), "  alice@acme.example ".into())
        .unwrap();
    vault.reorder(&[b.clone(), a.clone()]).unwrap();
    let reopened = Vault::open(store.clone()).unwrap();
    let names: Vec<_> = reopened
        .accounts()
        .into_iter()
        .map(|s| (s.issuer, s.account))
        .collect();
    assert_eq!(
        names,
        vec![
            (Some("B".into()), "b".into()),
            (Some("Acme".into()), "alice@acme.example".into())
        ]
    );

    vault.delete(&b).unwrap();
    assert_eq!(Vault::open(store).unwrap().accounts().len(), 1);
}

#[test]
fn bad_requests_give_their_exact_errors() {
    let (_, vault) = vault();
    let a = vault
        .add_from_qr(&format!("otpauth://totp/A:a?secret={RFC}"))
        .unwrap()
        .added
        .remove(0);
    let ghost = AccountId("nope".into());
    assert_eq!(vault.delete(&ghost), Err(VaultError::UnknownAccount));
    assert_eq!(
        vault.rename(&ghost, None, "x".into()),
        Err(VaultError::UnknownAccount)
    );
    assert_eq!(vault.next_hotp_code(&a), Err(VaultError::NotHotp));
    assert_eq!(vault.reorder(&[]), Err(VaultError::InvalidOrder));
    assert_eq!(
        vault.reorder(&[a.clone(), a.clone()]),
        Err(VaultError::InvalidOrder)
    );
    assert_eq!(vault.reorder(&[ghost]), Err(VaultError::InvalidOrder));
    assert_eq!(
        vault.add_from_qr("https://acme.example/"),
        Err(VaultError::UnsupportedQr)
    );
    assert!(matches!(
        vault.add_from_qr("otpauth://totp/a?secret=A1"),
        Err(VaultError::InvalidUri(_))
    ));
    assert!(matches!(
        vault.add_from_qr("otpauth-migration://offline?data=CgAS"),
        Err(VaultError::InvalidExport(_))
    ));
    assert_eq!(vault.accounts().len(), 1, "failed requests change nothing");
}

#[test]
fn an_unreadable_entry_is_an_error_not_an_empty_vault() {
    let store = Arc::new(MemoryStore::default());
    store
        .put("vault/accounts", b"garbage without a tab\n")
        .unwrap();
    assert!(matches!(Vault::open(store), Err(VaultError::Unreadable)));
}

#[test]
fn concurrent_scans_lose_no_account() {
    let (store, vault) = vault();
    let vault = Arc::new(vault);
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let vault = vault.clone();
            std::thread::spawn(move || {
                for i in 0..5 {
                    vault
                        .add_from_qr(&format!("otpauth://totp/T{t}:u{i}?secret={RFC}"))
                        .unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(Vault::open(store).unwrap().accounts().len(), 40);
}

#[test]
fn a_thousand_accounts_all_get_codes() {
    let (store, vault) = vault();
    let accounts: Vec<_> = (0..1000)
        .map(|i| {
            uri::parse(&format!("otpauth://totp/I{i}:u{i}?secret={RFC}"))
                .unwrap()
                .account
        })
        .collect();
    for qr in migration::export(&accounts, 1).unwrap() {
        vault.add_from_qr(&qr).unwrap();
    }
    let reopened = Vault::open(store).unwrap();
    let codes = reopened.codes(1_111_111_111, ClockOffset::ZERO);
    assert_eq!(codes.len(), 1000);
    assert!(codes.iter().all(|c| c.code.as_str() == "050471"));
}
