//! Secret values (passwords, codes, tokens) as types with a redacted `Debug`, zeroized on drop;
//! random generation, hashing for storage and constant-time comparison.

use std::fmt;
use std::sync::Arc;

use ring::rand::{SecureRandom, SystemRandom};
use serde::Deserialize;
use zeroize::Zeroizing;

/// A secret string: never printed, zeroized on drop.
#[derive(Clone, Default)]
pub struct SecretString(Zeroizing<String>);

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(SecretString::new)
    }
}

impl SecretString {
    pub fn new(value: String) -> Self {
        SecretString(Zeroizing::new(value))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

fn fill(bytes: &mut [u8]) {
    // SystemRandom only fails when the OS has no randomness at all; nothing can run then.
    SystemRandom::new()
        .fill(bytes)
        .expect("the operating system's random source failed");
}

pub fn random_bytes(n: usize) -> Zeroizing<Vec<u8>> {
    let mut bytes = Zeroizing::new(vec![0u8; n]);
    fill(&mut bytes);
    bytes
}

/// An opaque token: `prefix` + 256 random bits in base64url.
pub fn random_token(prefix: &str) -> SecretString {
    let bytes = random_bytes(32);
    SecretString::new(format!(
        "{prefix}{}",
        data_encoding::BASE64URL_NOPAD.encode(&bytes)
    ))
}

/// `length` uniformly random decimal digits.
pub fn random_digits(length: u32) -> SecretString {
    let mut out = String::with_capacity(length as usize);
    while out.len() < length as usize {
        let mut byte = [0u8; 1];
        fill(&mut byte);
        // Rejection sampling keeps every digit equally likely.
        if byte[0] < 250 {
            out.push(char::from(b'0' + byte[0] % 10));
        }
    }
    SecretString::new(out)
}

/// A backup code: 8 characters of Crockford base32 (no i, l, o, u), as `xxxx-xxxx`.
pub fn random_backup_code() -> SecretString {
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let bytes = random_bytes(8);
    let mut out = String::with_capacity(9);
    for (i, b) in bytes.iter().enumerate() {
        if i == 4 {
            out.push('-');
        }
        out.push(char::from(ALPHABET[usize::from(b & 31)]));
    }
    SecretString::new(out)
}

/// Backup codes compare without separators, spaces or case.
pub fn normalise_backup_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// SHA-256 of a high-entropy token: what the store keeps instead of the token.
pub fn token_hash(token: &str) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, token.as_bytes())
        .as_ref()
        .to_vec()
}

/// base64url(SHA-256(verifier)), the PKCE S256 transform.
pub fn pkce_s256(verifier: &str) -> String {
    data_encoding::BASE64URL_NOPAD
        .encode(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()).as_ref())
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// HMAC-SHA256 under the server's stored key, for low-entropy secrets (codes, backup codes):
/// a stolen database alone does not let anyone brute-force them offline.
#[derive(Clone)]
pub struct CodeHasher(Arc<ring::hmac::Key>);

impl CodeHasher {
    pub fn new(key: &[u8]) -> Self {
        CodeHasher(Arc::new(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key)))
    }

    /// Hash of `secret` bound to `context` (a code id, a user id), so equal codes hash apart.
    pub fn hash(&self, context: &str, secret: &str) -> Vec<u8> {
        let mut ctx = ring::hmac::Context::with_key(&self.0);
        ctx.update(context.as_bytes());
        ctx.update(&[0]);
        ctx.update(secret.as_bytes());
        ctx.sign().as_ref().to_vec()
    }
}

impl fmt::Debug for CodeHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeHasher(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = SecretString::new("hunter2".into());
        assert_eq!(format!("{s:?}"), "<redacted>");
    }

    #[test]
    fn digits_have_the_length_asked() {
        let code = random_digits(6);
        assert_eq!(code.expose().len(), 6);
        assert!(code.expose().chars().all(|c| c.is_ascii_digit()));
    }

    #[test]
    fn backup_codes_normalise() {
        let code = random_backup_code();
        assert_eq!(code.expose().len(), 9);
        assert_eq!(
            normalise_backup_code(&code.expose().to_uppercase()).len(),
            8
        );
    }

    #[test]
    fn pkce_s256_matches_an_independent_sha256() {
        // Computed with Python's hashlib + base64.urlsafe_b64encode, padding stripped.
        assert_eq!(
            pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gXk-kXgMo"),
            "ysXaeyvysaI2f3qm0RejuTzOQ2-i7iNcc6ETeBeVx0I"
        );
    }
}
