//! The platform traits the apps implement in Kotlin and Swift, and their adapters to the core's
//! traits. Each call into a foreign object is a plain call on a runtime thread: implementations
//! must not call back into the authcore object that called them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use authcore::device_keys::{Attestation as DeviceAttestation, KeyError};
use authcore::store::StoreError;

/// Small byte blobs under string keys, where only this app can read them (Keychain, Android
/// Keystore-encrypted preferences). Each `put` and `delete` must be atomic.
#[uniffi::export(with_foreign)]
pub trait SecureStore: Send + Sync {
    fn get(&self, key: String) -> Result<Option<Vec<u8>>, SecureStoreError>;
    fn put(&self, key: String, value: Vec<u8>) -> Result<(), SecureStoreError>;
    fn delete(&self, key: String) -> Result<(), SecureStoreError>;
    /// Every key, sorted.
    fn list(&self) -> Result<Vec<String>, SecureStoreError>;
}

/// What a foreign [`SecureStore`] may fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum SecureStoreError {
    /// The platform store refused (locked keychain, invalidated Keystore key, full disk).
    #[error("the platform store is unavailable")]
    Unavailable,
}

/// A foreign implementation that threw something else than a [`SecureStoreError`].
impl From<uniffi::UnexpectedUniFFICallbackError> for SecureStoreError {
    fn from(_: uniffi::UnexpectedUniFFICallbackError) -> Self {
        tracing::warn!("a foreign SecureStore threw an undeclared exception");
        SecureStoreError::Unavailable
    }
}

/// The P-256 keys of push accounts (Secure Enclave, StrongBox / Android Keystore): the private
/// key never leaves the platform.
#[uniffi::export(with_foreign)]
pub trait DeviceKeys: Send + Sync {
    /// Creates a P-256 key under `alias`; answers its SubjectPublicKeyInfo (DER).
    fn generate(&self, alias: String) -> Result<Vec<u8>, DeviceKeyError>;
    /// The SubjectPublicKeyInfo (DER) of an existing key.
    fn public_key(&self, alias: String) -> Result<Vec<u8>, DeviceKeyError>;
    /// ECDSA P-256 with SHA-256 over `message`, ASN.1 DER (X9.62), as the JDK's
    /// `SHA256withECDSA` and Apple's `ecdsaSignatureMessageX962SHA256` produce.
    fn sign(&self, alias: String, message: Vec<u8>) -> Result<Vec<u8>, DeviceKeyError>;
    fn delete(&self, alias: String) -> Result<(), DeviceKeyError>;
    /// The platform's proof of the key just generated under `alias`, for `challenge` (32
    /// bytes), or `None` (no attestation: the account works, but phone sign-in without a
    /// password does not reach it). Called once, right after `generate`, before the key signs.
    /// Android: generate the key with `setAttestationChallenge(challenge)` (replacing the one
    /// under `alias`; the core reads `public_key` afterwards) and answer
    /// `getCertificateChain(alias)`. iOS: App Attest's `attestKey` with `clientDataHash` =
    /// SHA-256(challenge ‖ `public_key(alias)`).
    fn attestation(
        &self,
        alias: String,
        challenge: Vec<u8>,
    ) -> Result<Option<DeviceAttestation>, DeviceKeyError>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum DeviceKeyError {
    #[error("there is no device key with that alias")]
    UnknownKey,
    #[error("a device key with that alias already exists")]
    AlreadyExists,
    /// The platform refused (user cancelled, hardware unavailable, key invalidated).
    #[error("the platform key store refused the operation")]
    Unavailable,
}

impl From<uniffi::UnexpectedUniFFICallbackError> for DeviceKeyError {
    fn from(_: uniffi::UnexpectedUniFFICallbackError) -> Self {
        tracing::warn!("a foreign DeviceKeys threw an undeclared exception");
        DeviceKeyError::Unavailable
    }
}

/// Device keys in software: ring ECDSA P-256, the private key (PKCS#8) kept in `store`. For
/// tests, simulators and platforms without a hardware key store (the Swift suite on Linux, where
/// there is no CryptoKit); the apps use the Secure Enclave or Android Keystore instead.
#[uniffi::export]
pub fn software_device_keys(store: Arc<dyn SecureStore>) -> Arc<dyn DeviceKeys> {
    Arc::new(SoftwareKeys(
        authcore::device_keys::SoftwareDeviceKeys::new(Arc::new(StoreAdapter(store))),
    ))
}

struct SoftwareKeys(authcore::device_keys::SoftwareDeviceKeys);

impl SoftwareKeys {
    fn error(error: KeyError) -> DeviceKeyError {
        match error {
            KeyError::UnknownKey(_) => DeviceKeyError::UnknownKey,
            KeyError::AlreadyExists(_) => DeviceKeyError::AlreadyExists,
            KeyError::Unavailable | KeyError::Store(_) => DeviceKeyError::Unavailable,
        }
    }
}

impl DeviceKeys for SoftwareKeys {
    fn generate(&self, alias: String) -> Result<Vec<u8>, DeviceKeyError> {
        use authcore::device_keys::DeviceKeys as _;
        self.0.generate(&alias).map_err(Self::error)
    }

    fn public_key(&self, alias: String) -> Result<Vec<u8>, DeviceKeyError> {
        use authcore::device_keys::DeviceKeys as _;
        self.0.public_key(&alias).map_err(Self::error)
    }

    fn sign(&self, alias: String, message: Vec<u8>) -> Result<Vec<u8>, DeviceKeyError> {
        use authcore::device_keys::DeviceKeys as _;
        self.0.sign(&alias, &message).map_err(Self::error)
    }

    fn delete(&self, alias: String) -> Result<(), DeviceKeyError> {
        use authcore::device_keys::DeviceKeys as _;
        self.0.delete(&alias).map_err(Self::error)
    }

    /// Software keys prove nothing.
    fn attestation(
        &self,
        _alias: String,
        _challenge: Vec<u8>,
    ) -> Result<Option<DeviceAttestation>, DeviceKeyError> {
        Ok(None)
    }
}

/// The person holding the phone proves it is them (BiometricPrompt, LocalAuthentication) before
/// an approval is signed. Async: the prompt completes whenever the user answers. `false`, a
/// cancelled prompt or a thrown exception sends nothing (`UserNotVerified`).
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait UserVerification: Send + Sync {
    async fn verify_user(&self, reason: String) -> Result<bool, CallbackError>;
}

/// What an app's [`crate::logging::Logger`], [`crate::signin::SignInListener`] or
/// [`UserVerification`] throws. It never crosses back as a panic: a throwing logger or listener
/// is ignored, a throwing verification counts as "not verified".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum CallbackError {
    #[error("the app's callback failed")]
    Failed,
}

/// Whatever the foreign implementation threw.
impl From<uniffi::UnexpectedUniFFICallbackError> for CallbackError {
    fn from(_: uniffi::UnexpectedUniFFICallbackError) -> Self {
        CallbackError::Failed
    }
}

/// [`SecureStore`] as the core's trait.
pub(crate) struct StoreAdapter(pub Arc<dyn SecureStore>);

impl authcore::store::SecureStore for StoreAdapter {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.get(key.to_owned()).map_err(store_error)
    }

    fn put(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.0
            .put(key.to_owned(), value.to_vec())
            .map_err(store_error)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.0.delete(key.to_owned()).map_err(store_error)
    }

    fn list(&self) -> Result<Vec<String>, StoreError> {
        self.0.list().map_err(store_error)
    }
}

fn store_error(_: SecureStoreError) -> StoreError {
    StoreError::Unavailable
}

/// [`DeviceKeys`] as the core's trait.
pub(crate) struct KeysAdapter(pub Arc<dyn DeviceKeys>);

impl KeysAdapter {
    fn error(alias: &str, error: DeviceKeyError) -> KeyError {
        match error {
            DeviceKeyError::UnknownKey => KeyError::UnknownKey(alias.to_owned()),
            DeviceKeyError::AlreadyExists => KeyError::AlreadyExists(alias.to_owned()),
            DeviceKeyError::Unavailable => KeyError::Unavailable,
        }
    }
}

impl authcore::device_keys::DeviceKeys for KeysAdapter {
    fn generate(&self, alias: &str) -> Result<Vec<u8>, KeyError> {
        self.0
            .generate(alias.to_owned())
            .map_err(|e| Self::error(alias, e))
    }

    fn public_key(&self, alias: &str) -> Result<Vec<u8>, KeyError> {
        self.0
            .public_key(alias.to_owned())
            .map_err(|e| Self::error(alias, e))
    }

    fn sign(&self, alias: &str, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.0
            .sign(alias.to_owned(), message.to_vec())
            .map_err(|e| Self::error(alias, e))
    }

    fn delete(&self, alias: &str) -> Result<(), KeyError> {
        self.0
            .delete(alias.to_owned())
            .map_err(|e| Self::error(alias, e))
    }

    fn attestation(
        &self,
        alias: &str,
        challenge: &[u8],
    ) -> Result<Option<DeviceAttestation>, KeyError> {
        self.0
            .attestation(alias.to_owned(), challenge.to_vec())
            .map_err(|e| Self::error(alias, e))
    }
}

/// [`UserVerification`] as the core's trait.
pub(crate) struct VerificationAdapter(pub Arc<dyn UserVerification>);

impl authcore::authenticator::UserVerification for VerificationAdapter {
    fn verify_user(&self, reason: String) -> Pin<Box<dyn Future<Output = bool> + Send>> {
        let foreign = self.0.clone();
        Box::pin(async move {
            foreign.verify_user(reason).await.unwrap_or_else(|_| {
                tracing::warn!("the app's UserVerification threw: not verified");
                false
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    #[derive(Default)]
    struct MapStore(Mutex<BTreeMap<String, Vec<u8>>>);

    impl SecureStore for MapStore {
        fn get(&self, key: String) -> Result<Option<Vec<u8>>, SecureStoreError> {
            Ok(self.0.lock().unwrap().get(&key).cloned())
        }
        fn put(&self, key: String, value: Vec<u8>) -> Result<(), SecureStoreError> {
            if key == "refused" {
                return Err(SecureStoreError::Unavailable);
            }
            self.0.lock().unwrap().insert(key, value);
            Ok(())
        }
        fn delete(&self, key: String) -> Result<(), SecureStoreError> {
            self.0.lock().unwrap().remove(&key);
            Ok(())
        }
        fn list(&self) -> Result<Vec<String>, SecureStoreError> {
            Ok(self.0.lock().unwrap().keys().cloned().collect())
        }
    }

    #[test]
    fn a_foreign_store_backs_the_core_store() {
        use authcore::store::SecureStore as _;
        let store = StoreAdapter(Arc::new(MapStore::default()));
        store.put("a", b"1").unwrap();
        assert_eq!(store.get("a").unwrap(), Some(b"1".to_vec()));
        assert_eq!(store.list().unwrap(), ["a"]);
        assert_eq!(store.put("refused", b"x"), Err(StoreError::Unavailable));
        store.delete("a").unwrap();
        assert_eq!(store.get("a").unwrap(), None);
    }

    #[test]
    fn software_keys_keep_their_private_key_in_the_given_store() {
        let store = Arc::new(MapStore::default());
        let keys = software_device_keys(store.clone());
        let spki = keys.generate("push-1".into()).unwrap();
        assert!(authcore::device_keys::p256_point(&spki).is_some());
        assert_eq!(keys.public_key("push-1".into()).unwrap(), spki);
        assert_eq!(store.list().unwrap(), ["device-keys/push-1"]);
        assert_eq!(
            keys.generate("push-1".into()),
            Err(DeviceKeyError::AlreadyExists)
        );
        let signature = keys.sign("push-1".into(), b"message".to_vec()).unwrap();
        let point = authcore::device_keys::p256_point(&spki).unwrap();
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, point)
            .verify(b"message", &signature)
            .unwrap();
        keys.delete("push-1".into()).unwrap();
        assert_eq!(
            keys.sign("push-1".into(), b"x".to_vec()),
            Err(DeviceKeyError::UnknownKey)
        );
    }

    #[test]
    fn device_key_errors_name_the_alias_in_the_core() {
        assert_eq!(
            KeysAdapter::error("push-1", DeviceKeyError::UnknownKey),
            KeyError::UnknownKey("push-1".into())
        );
    }
}
