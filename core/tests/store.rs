//! The encrypted file store: what an app relies on when it keeps tokens and accounts in it.

use std::fs;
use std::sync::Arc;

use authcore::store::{EncryptedFileStore, SecureStore, StoreError, StoreKey};

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("authcore-store-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn values_survive_reopening_and_are_not_readable_on_disk() {
    let dir = scratch("reopen");
    let key = [7u8; 32];
    let store = EncryptedFileStore::open(dir.join("store"), StoreKey::from_bytes(key));
    assert_eq!(store.get("refresh_token").unwrap(), None);
    store.put("refresh_token", b"rt-very-secret-value").unwrap();
    store.put("device_token", b"dt-another-secret").unwrap();
    store.put("refresh_token", b"rt-rotated-secret").unwrap();
    store.delete("nothing-here").unwrap();

    let reopened = EncryptedFileStore::open(dir.join("store"), StoreKey::from_bytes(key));
    assert_eq!(
        reopened.get("refresh_token").unwrap().as_deref(),
        Some(&b"rt-rotated-secret"[..])
    );
    assert_eq!(
        reopened.list().unwrap(),
        vec!["device_token", "refresh_token"]
    );
    reopened.delete("device_token").unwrap();
    assert_eq!(reopened.list().unwrap(), vec!["refresh_token"]);

    let raw = fs::read(dir.join("store")).unwrap();
    assert!(raw.starts_with(b"ACS1"));
    for secret in [
        &b"rt-rotated-secret"[..],
        b"refresh_token",
        b"dt-another-secret",
    ] {
        assert!(
            !raw.windows(secret.len()).any(|w| w == secret),
            "plaintext on disk"
        );
    }
}

#[test]
fn a_corrupt_file_is_reported_and_moved_aside_never_silently_emptied() {
    let dir = scratch("corrupt");
    let path = dir.join("store");
    let store = EncryptedFileStore::open(&path, StoreKey::from_bytes([1; 32]));
    store.put("a", b"1").unwrap();
    let mut raw = fs::read(&path).unwrap();
    let last = raw.len() - 1;
    raw[last] ^= 0x01; // one flipped bit in the tag
    fs::write(&path, &raw).unwrap();

    let err = store.get("a").unwrap_err();
    let StoreError::Corrupt { moved_to } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        fs::read(moved_to).unwrap(),
        raw,
        "the corrupt bytes are kept for recovery"
    );
    assert!(!path.exists());
    // From then on the store is empty, and says so only after that one error.
    assert_eq!(store.get("a").unwrap(), None);
    store.put("a", b"2").unwrap();
    assert_eq!(store.get("a").unwrap().as_deref(), Some(&b"2"[..]));
}

#[test]
fn a_truncated_or_foreign_file_is_corrupt_too() {
    for (name, bytes) in [
        ("empty", &b""[..]),
        ("short", b"ACS1\x00\x01"),
        ("foreign", b"{\"json\": true}"),
    ] {
        let dir = scratch(name);
        let path = dir.join("store");
        fs::write(&path, bytes).unwrap();
        let store = EncryptedFileStore::open(&path, StoreKey::from_bytes([1; 32]));
        assert!(
            matches!(store.list(), Err(StoreError::Corrupt { .. })),
            "{name}"
        );
    }
}

#[test]
fn another_key_cannot_read_the_file() {
    let dir = scratch("wrongkey");
    let path = dir.join("store");
    EncryptedFileStore::open(&path, StoreKey::from_bytes([1; 32]))
        .put("a", b"1")
        .unwrap();
    let other = EncryptedFileStore::open(&path, StoreKey::from_bytes([2; 32]));
    assert!(matches!(other.get("a"), Err(StoreError::Corrupt { .. })));
}

#[test]
fn a_crash_mid_write_leaves_the_previous_state() {
    // A writer killed after writing its temporary file but before the rename leaves that file
    // behind; the store still reads the last complete state and the next write replaces it.
    let dir = scratch("crash");
    let path = dir.join("store");
    let store = EncryptedFileStore::open(&path, StoreKey::from_bytes([3; 32]));
    store.put("a", b"before").unwrap();
    fs::write(dir.join("store.tmp-99999"), b"half a write").unwrap();
    assert_eq!(store.get("a").unwrap().as_deref(), Some(&b"before"[..]));
    store.put("a", b"after").unwrap();
    assert_eq!(store.get("a").unwrap().as_deref(), Some(&b"after"[..]));
}

#[test]
fn concurrent_writers_lose_nothing() {
    let dir = scratch("concurrent");
    let store = Arc::new(EncryptedFileStore::open(
        dir.join("store"),
        StoreKey::from_bytes([4; 32]),
    ));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..10 {
                    store
                        .put(&format!("k{t}-{i}"), format!("v{t}-{i}").as_bytes())
                        .unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let keys = store.list().unwrap();
    assert_eq!(keys.len(), 80);
    assert_eq!(store.get("k7-9").unwrap().as_deref(), Some(&b"v7-9"[..]));
}

#[test]
fn key_file_is_created_once_private_and_checked() {
    let dir = scratch("keyfile");
    let key_path = dir.join("keys").join("store.key");
    let store = EncryptedFileStore::open(
        dir.join("store"),
        StoreKey::load_or_create(&key_path).unwrap(),
    );
    store.put("a", b"1").unwrap();
    let again = EncryptedFileStore::open(
        dir.join("store"),
        StoreKey::load_or_create(&key_path).unwrap(),
    );
    assert_eq!(again.get("a").unwrap().as_deref(), Some(&b"1"[..]));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&key_path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    fs::write(&key_path, b"short").unwrap();
    assert_eq!(
        StoreKey::load_or_create(&key_path).unwrap_err(),
        StoreError::BadKey {
            path: key_path.display().to_string(),
            reason: "not 32 bytes".into()
        }
    );
    assert_eq!(
        format!("{:?}", StoreKey::generate()),
        "StoreKey(<redacted>)"
    );
}

fn temporary_files(dir: &std::path::Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".tmp-"))
        .collect()
}

/// Two writers at once on one file (two stores, as two processes or two app components would
/// open it): each writes through its own exclusively created temporary file, so every rename
/// installs one complete sealed file. Reading at any moment never finds a corrupt file, and no
/// temporary file is left behind.
#[test]
fn two_writers_at_once_never_corrupt_the_file() {
    let dir = scratch("two-writers");
    let path = dir.join("store");
    let key = [5u8; 32];
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let store = EncryptedFileStore::open(&path, StoreKey::from_bytes(key));
            std::thread::spawn(move || {
                for i in 0..40 {
                    store
                        .put(
                            &format!("w{w}"),
                            format!("value {i} of writer {w}").as_bytes(),
                        )
                        .unwrap();
                    // Every read sees a whole file: its own value or the other writer's, never
                    // a torn one (a corrupt file would be moved aside and reported).
                    store.list().unwrap();
                }
            })
        })
        .collect();
    let reader = {
        let store = EncryptedFileStore::open(&path, StoreKey::from_bytes(key));
        std::thread::spawn(move || {
            for _ in 0..80 {
                store.list().unwrap();
            }
        })
    };
    for writer in writers {
        writer.join().unwrap();
    }
    reader.join().unwrap();

    let store = EncryptedFileStore::open(&path, StoreKey::from_bytes(key));
    let keys = store.list().unwrap();
    assert!(!keys.is_empty() && keys.iter().all(|k| k == "w0" || k == "w1"));
    for key in keys {
        let value = String::from_utf8(store.get(&key).unwrap().unwrap()).unwrap();
        assert!(
            value.starts_with("value ") && value.ends_with(&format!("of writer {}", &key[1..]))
        );
    }
    assert!(
        temporary_files(&dir).is_empty(),
        "{:?}",
        temporary_files(&dir)
    );
    let corrupt: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".corrupt-")
        })
        .collect();
    assert!(corrupt.is_empty(), "a reader found a torn file");
}

/// A stale temporary file with the name the old scheme used (`.tmp-<pid>`) is never reused or
/// truncated: new writes go through fresh names and leave nothing behind.
#[test]
fn writes_leave_no_temporary_file_and_never_touch_a_stale_one() {
    let dir = scratch("no-leftovers");
    let path = dir.join("store");
    let stale = dir.join(format!("store.tmp-{}", std::process::id()));
    fs::write(&stale, b"someone else's half write").unwrap();
    let store = EncryptedFileStore::open(&path, StoreKey::from_bytes([6; 32]));
    for i in 0..5 {
        store.put("a", format!("{i}").as_bytes()).unwrap();
    }
    store.delete("a").unwrap();
    assert_eq!(fs::read(&stale).unwrap(), b"someone else's half write");
    assert_eq!(
        temporary_files(&dir),
        vec![format!("store.tmp-{}", std::process::id())]
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
