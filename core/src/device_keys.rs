//! Device keys: the P-256 key an authenticator registers with the server and signs approvals with.
//!
//! [`DeviceKeys`] is a platform trait: the apps implement it over the Secure Enclave or
//! StrongBox/Keystore, where the private key never leaves the hardware. [`SoftwareDeviceKeys`] is
//! the Rust default for tests and the harness: ring ECDSA P-256 with the PKCS#8 document kept in a
//! [`SecureStore`].
//!
//! Signatures are ECDSA P-256 SHA-256 in ASN.1 DER (X9.62), the form Android Keystore, the JDK's
//! `SHA256withECDSA` and Apple's `ecdsaSignatureMessageX962SHA256` all produce.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use zeroize::Zeroizing;

use crate::store::{SecureStore, StoreError};

/// What a device key operation can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("there is no device key named `{0}`")]
    UnknownKey(String),
    #[error("a device key named `{0}` already exists")]
    AlreadyExists(String),
    /// The platform refused (user cancelled, hardware unavailable, key invalidated).
    #[error("the platform key store refused the operation")]
    Unavailable,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A platform's proof that a device key lives in its hardware and was made for this activation
/// (docs/protocol.md "Device attestation"). Without one the server registers the key, but
/// passwordless push (phone sign-in) does not reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "uniffi",
    derive(uniffi::Enum),
    uniffi(name = "DeviceAttestation")
)]
pub enum Attestation {
    /// Android Key Attestation: `KeyStore.getCertificateChain(alias)` of a key generated with
    /// `setAttestationChallenge(challenge)`, leaf first, each certificate DER.
    AndroidKey { certificates: Vec<Vec<u8>> },
    /// Apple App Attest: `DCAppAttestService.attestKey(key_id, clientDataHash)` with
    /// `clientDataHash` = SHA-256(challenge ‖ the device key's SubjectPublicKeyInfo DER)
    /// ([`crate::device_protocol::app_attest_client_data_hash`]); `object` is the CBOR it
    /// answers, `key_id` the App Attest key id as `generateKey` gave it (base64).
    AppleAppAttest { key_id: String, object: Vec<u8> },
}

impl Attestation {
    /// The `attestation` member of `POST /v1/devices/activate`.
    pub fn to_wire(&self) -> authcore_protocol::devices::Attestation {
        use authcore_protocol::devices::Attestation as Wire;
        use data_encoding::BASE64URL_NOPAD;
        match self {
            Attestation::AndroidKey { certificates } => Wire::AndroidKey {
                certificates: certificates
                    .iter()
                    .map(|c| BASE64URL_NOPAD.encode(c))
                    .collect(),
            },
            Attestation::AppleAppAttest { key_id, object } => Wire::AppleAppAttest {
                object: BASE64URL_NOPAD.encode(object),
                key_id: key_id.clone(),
            },
        }
    }
}

pub trait DeviceKeys: Send + Sync {
    /// Creates a P-256 key under `alias` and returns its SubjectPublicKeyInfo (DER).
    fn generate(&self, alias: &str) -> Result<Vec<u8>, KeyError>;
    /// The SubjectPublicKeyInfo of an existing key.
    fn public_key(&self, alias: &str) -> Result<Vec<u8>, KeyError>;
    /// An ECDSA P-256 SHA-256 signature (ASN.1 DER) of `message`.
    fn sign(&self, alias: &str, message: &[u8]) -> Result<Vec<u8>, KeyError>;
    fn delete(&self, alias: &str) -> Result<(), KeyError>;
    /// The platform's attestation of the key just generated under `alias`, made for
    /// `challenge` ([`crate::device_protocol::attestation_challenge`]); `None` when the
    /// platform has none (the default, and the software keys). Called once, right after
    /// [`DeviceKeys::generate`] and before the key signs anything. Android binds the challenge
    /// at generation, so an implementation may replace the key under `alias` with one
    /// generated with the challenge: the core reads [`DeviceKeys::public_key`] afterwards.
    fn attestation(&self, alias: &str, challenge: &[u8]) -> Result<Option<Attestation>, KeyError> {
        let _ = (alias, challenge);
        Ok(None)
    }
}

pub use authcore_protocol::device::{p256_point, p256_spki};

/// Software keys over a [`SecureStore`] (entries `device-keys/<alias>`).
///
/// The store stays the truth: every operation reads the key's PKCS#8 document from it (a deleted
/// or replaced key is never used). Parsing a document into a key pair costs a P-256 point
/// multiplication (ring recomputes and checks the public key), so the last parsed key pair of
/// each alias is kept beside the document it came from and reused while the store still holds
/// that same document.
pub struct SoftwareDeviceKeys {
    store: Arc<dyn SecureStore>,
    rng: SystemRandom,
    parsed: Mutex<HashMap<String, ParsedKey>>,
}

struct ParsedKey {
    pkcs8: Zeroizing<Vec<u8>>,
    pair: Arc<EcdsaKeyPair>,
}

impl SoftwareDeviceKeys {
    pub fn new(store: Arc<dyn SecureStore>) -> Self {
        SoftwareDeviceKeys {
            store,
            rng: SystemRandom::new(),
            parsed: Mutex::new(HashMap::new()),
        }
    }

    fn parsed(&self) -> std::sync::MutexGuard<'_, HashMap<String, ParsedKey>> {
        self.parsed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn entry(alias: &str) -> String {
        format!("device-keys/{alias}")
    }

    fn key_pair(&self, alias: &str) -> Result<Arc<EcdsaKeyPair>, KeyError> {
        let stored = self.store.get(&Self::entry(alias))?;
        let Some(pkcs8) = stored.map(Zeroizing::new) else {
            self.parsed().remove(alias);
            return Err(KeyError::UnknownKey(alias.to_owned()));
        };
        if let Some(known) = self.parsed().get(alias) {
            if *known.pkcs8 == *pkcs8 {
                return Ok(known.pair.clone());
            }
        }
        let pair = Arc::new(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &pkcs8, &self.rng)
                .map_err(|_| KeyError::Unavailable)?,
        );
        self.parsed().insert(
            alias.to_owned(),
            ParsedKey {
                pkcs8,
                pair: pair.clone(),
            },
        );
        Ok(pair)
    }
}

impl DeviceKeys for SoftwareDeviceKeys {
    fn generate(&self, alias: &str) -> Result<Vec<u8>, KeyError> {
        if self.store.get(&Self::entry(alias))?.is_some() {
            return Err(KeyError::AlreadyExists(alias.to_owned()));
        }
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &self.rng)
            .map_err(|_| KeyError::Unavailable)?;
        let pkcs8 = Zeroizing::new(pkcs8.as_ref().to_vec());
        self.store.put(&Self::entry(alias), &pkcs8)?;
        self.public_key(alias)
    }

    fn public_key(&self, alias: &str) -> Result<Vec<u8>, KeyError> {
        Ok(p256_spki(self.key_pair(alias)?.public_key().as_ref()))
    }

    fn sign(&self, alias: &str, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let signature = self
            .key_pair(alias)?
            .sign(&self.rng, message)
            .map_err(|_| KeyError::Unavailable)?;
        Ok(signature.as_ref().to_vec())
    }

    fn delete(&self, alias: &str) -> Result<(), KeyError> {
        self.parsed().remove(alias);
        Ok(self.store.delete(&Self::entry(alias))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn verifies(spki: &[u8], message: &[u8], signature: &[u8]) -> bool {
        crate::device_protocol::verify_p256(spki, message, signature).is_ok()
    }

    #[test]
    fn the_parsed_key_follows_the_store() {
        let store = Arc::new(MemoryStore::default());
        let keys = SoftwareDeviceKeys::new(store.clone());
        let first = keys.generate("a").unwrap();
        let signature = keys.sign("a", b"one").unwrap();
        assert!(verifies(&first, b"one", &signature));
        // Another key written under the same entry (a restore, another instance): used at once.
        let elsewhere = Arc::new(MemoryStore::default());
        let second = SoftwareDeviceKeys::new(elsewhere.clone())
            .generate("a")
            .unwrap();
        let document = elsewhere.get("device-keys/a").unwrap().unwrap();
        store.put("device-keys/a", &document).unwrap();
        let signature = keys.sign("a", b"two").unwrap();
        assert!(verifies(&second, b"two", &signature));
        assert!(!verifies(&first, b"two", &signature));
        assert_eq!(keys.public_key("a").unwrap(), second);
        // Gone from the store: gone.
        store.delete("device-keys/a").unwrap();
        assert_eq!(
            keys.sign("a", b"three"),
            Err(KeyError::UnknownKey("a".into()))
        );
        keys.generate("b").unwrap();
        keys.delete("b").unwrap();
        assert_eq!(keys.public_key("b"), Err(KeyError::UnknownKey("b".into())));
    }
}
