//! Password hashing with argon2id, off the async threads and at most one hash per core at a time.
//! Unknown identifiers are checked against a dummy hash so they cost the same work.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::config::Argon2Config;
use crate::secrets::{random_bytes, SecretString};

#[derive(Clone)]
pub struct Passwords {
    argon: Arc<Argon2<'static>>,
    dummy_hash: Arc<String>,
    permits: Arc<Semaphore>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passwords")
    }
}

impl Passwords {
    pub fn new(config: &Argon2Config) -> Result<Passwords, String> {
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            None,
        )
        .map_err(|e| format!("argon2 parameters: {e}"))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy = data_encoding::BASE64URL_NOPAD.encode(&random_bytes(16));
        let dummy_hash = hash_with(&argon, &dummy)?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Passwords {
            argon: Arc::new(argon),
            dummy_hash: Arc::new(dummy_hash),
            permits: Arc::new(Semaphore::new(cores)),
        })
    }

    /// The PHC string of a new hash of `password`.
    pub async fn hash(&self, password: &SecretString) -> Result<String, String> {
        let _permit = self.permits.acquire().await.map_err(|e| e.to_string())?;
        let argon = self.argon.clone();
        let password = password.clone();
        tokio::task::spawn_blocking(move || hash_with(&argon, password.expose()))
            .await
            .map_err(|e| e.to_string())?
    }

    /// Whether `password` matches `stored`; with no stored hash, the same work is done against
    /// a dummy and the answer is no.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> bool {
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        let argon = self.argon.clone();
        let known = stored.is_some();
        let hash = stored
            .map(str::to_owned)
            .unwrap_or_else(|| self.dummy_hash.as_str().to_owned());
        let password = SecretString::new(password.to_owned());
        tokio::task::spawn_blocking(move || {
            let Ok(parsed) = PasswordHash::new(&hash) else {
                return false;
            };
            let matched = argon
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok();
            matched && known
        })
        .await
        .unwrap_or(false)
    }
}

fn hash_with(argon: &Argon2<'_>, password: &str) -> Result<String, String> {
    let salt = SaltString::encode_b64(&random_bytes(16)).map_err(|e| e.to_string())?;
    argon
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("argon2: {e}"))
}
