//! PKCE S256 (RFC 7636): a fresh verifier per sign-in.

use data_encoding::BASE64URL_NOPAD;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::error::ClientError;

#[derive(Clone)]
pub(super) struct Pkce {
    pub verifier: Zeroizing<String>,
    pub challenge: String,
}

impl Pkce {
    pub fn new() -> Result<Pkce, ClientError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        SystemRandom::new()
            .fill(&mut *bytes)
            .map_err(|_| ClientError::protocol("no system randomness"))?;
        let verifier = Zeroizing::new(BASE64URL_NOPAD.encode(&*bytes));
        let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
        Ok(Pkce {
            challenge: BASE64URL_NOPAD.encode(digest.as_ref()),
            verifier,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_the_verifiers_sha256_and_each_sign_in_gets_its_own() {
        let pkce = Pkce::new().unwrap();
        assert_eq!(pkce.verifier.len(), 43);
        let digest = ring::digest::digest(&ring::digest::SHA256, pkce.verifier.as_bytes());
        assert_eq!(pkce.challenge, BASE64URL_NOPAD.encode(digest.as_ref()));
        assert_ne!(Pkce::new().unwrap().verifier, pkce.verifier);
    }
}
