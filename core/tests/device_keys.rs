//! Software device keys: what the server will check an approval signature with.

use std::sync::Arc;

use authcore::device_keys::{p256_point, DeviceKeys, KeyError, SoftwareDeviceKeys};
use authcore::store::{EncryptedFileStore, StoreKey};
use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_ASN1};

fn store(name: &str) -> Arc<EncryptedFileStore> {
    let dir = std::env::temp_dir().join(format!("authcore-keys-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    Arc::new(EncryptedFileStore::open(
        dir.join("store"),
        StoreKey::from_bytes([9; 32]),
    ))
}

#[test]
fn signatures_verify_against_the_registered_public_key_after_a_restart() {
    let store = store("sign");
    let keys = SoftwareDeviceKeys::new(store.clone());
    let spki = keys.generate("device").unwrap();
    assert_eq!(spki.len(), 91);
    let point = p256_point(&spki).expect("a P-256 SPKI").to_vec();

    let message = b"approve|request-1|22|1700000000|device-1";
    let restarted = SoftwareDeviceKeys::new(store);
    assert_eq!(restarted.public_key("device").unwrap(), spki);
    let signature = restarted.sign("device", message).unwrap();
    let public = UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &point);
    assert!(public.verify(message, &signature).is_ok());
    assert!(public
        .verify(b"deny|request-1|22|1700000000|device-1", &signature)
        .is_err());
}

#[test]
fn aliases_are_separate_and_errors_are_exact() {
    let keys = SoftwareDeviceKeys::new(store("errors"));
    let a = keys.generate("a").unwrap();
    let b = keys.generate("b").unwrap();
    assert_ne!(a, b);
    assert_eq!(keys.generate("a"), Err(KeyError::AlreadyExists("a".into())));
    assert_eq!(
        keys.sign("missing", b"x"),
        Err(KeyError::UnknownKey("missing".into()))
    );
    keys.delete("a").unwrap();
    assert_eq!(keys.public_key("a"), Err(KeyError::UnknownKey("a".into())));
    assert_eq!(keys.public_key("b").unwrap(), b);
}

#[test]
fn only_p256_spkis_yield_a_point() {
    assert_eq!(p256_point(&[0u8; 91]), None);
    assert_eq!(p256_point(b""), None);
}
