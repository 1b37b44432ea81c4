//! The shared secret of an OTP account.

use std::fmt;

use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

/// An OTP shared secret: raw key bytes, zeroized on drop.
///
/// `Debug` shows only the length; there is no `Display`. Reading the bytes or their base32 form
/// takes an explicit call ([`Secret::expose`], [`Secret::to_base32`]) so a secret cannot end up in
/// a log line or an error by accident. Equality is constant-time.
#[derive(Clone)]
pub struct Secret(Zeroizing<Vec<u8>>);

/// Why a base32 secret could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("the secret is empty")]
    Empty,
    /// The character itself is not echoed: it is part of a secret.
    #[error("the secret is not base32: invalid character at position {position}")]
    InvalidCharacter { position: usize },
    #[error("the secret has {length} base32 characters, a length no whole number of bytes has")]
    InvalidLength { length: usize },
}

const BASE32_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

impl Secret {
    /// RFC 4226 section 4 asks for at least 128 bits; shorter secrets get a warning.
    pub const RECOMMENDED_BITS: usize = 128;
    /// What [`Secret::generate`] makes by default: 160 bits, RFC 4226's recommendation.
    pub const GENERATED_BYTES: usize = 20;

    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Secret(Zeroizing::new(bytes))
    }

    /// A fresh random secret of `bytes` bytes from the system CSPRNG.
    pub fn generate(bytes: usize) -> Self {
        let mut buf = Zeroizing::new(vec![0u8; bytes]);
        SystemRandom::new()
            .fill(&mut buf)
            .expect("the system random source failed");
        Secret(buf)
    }

    /// Reads base32 leniently, as people and QR generators write it: lower case, spaces and
    /// missing or present `=` padding are all fine; any other character outside A-Z and 2-7 is an
    /// error naming its (1-based) position. Trailing bits that do not fill a byte are ignored.
    pub fn from_base32(text: &str) -> Result<Self, SecretError> {
        let trimmed = text.trim_end_matches(|c: char| c == '=' || c.is_whitespace());
        let mut values = Zeroizing::new(Vec::with_capacity(trimmed.len()));
        for (index, c) in trimmed.chars().enumerate() {
            if c.is_whitespace() {
                continue;
            }
            let upper = c.to_ascii_uppercase();
            let value = BASE32_ALPHABET
                .iter()
                .position(|&a| upper.is_ascii() && a == upper as u8)
                .ok_or(SecretError::InvalidCharacter {
                    position: index + 1,
                })?;
            values.push(value as u8);
        }
        if values.is_empty() {
            return Err(SecretError::Empty);
        }
        // 5 bits per symbol: 1, 3 or 6 symbols past a multiple of 8 leave 5 or more spare bits,
        // i.e. a whole symbol that encodes nothing. No encoder writes that.
        if (values.len() * 5) % 8 >= 5 {
            return Err(SecretError::InvalidLength {
                length: values.len(),
            });
        }
        let mut bytes = Zeroizing::new(Vec::with_capacity(values.len() * 5 / 8));
        let mut buffer: u32 = 0;
        let mut bits = 0;
        for &value in values.iter() {
            buffer = (buffer << 5) | u32::from(value);
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                bytes.push((buffer >> bits) as u8);
                buffer &= (1 << bits) - 1;
            }
        }
        buffer.zeroize();
        Ok(Secret(bytes))
    }

    /// Canonical base32: upper case, no padding (as the Key URI format writes it).
    pub fn to_base32(&self) -> Zeroizing<String> {
        Zeroizing::new(data_encoding::BASE32_NOPAD.encode(&self.0))
    }

    /// The raw key bytes. Call sites are the only places a secret leaves this type.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    pub fn bits(&self) -> usize {
        self.0.len() * 8
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<redacted, {} bits>)", self.bits())
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len() && bool::from(self.0.ct_eq(&other.0))
    }
}

impl Eq for Secret {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lenient_base32() {
        let canonical = Secret::from_base32("JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(canonical.expose(), b"Hello!\xde\xad\xbe\xef");
        for variant in [
            "jbswy3dpehpk3pxp",
            "JBSW Y3DP EHPK 3PXP",
            "JBSWY3DPEHPK3PXP======",
            " jbsw y3dp ehpk 3pxp ",
        ] {
            assert_eq!(
                Secret::from_base32(variant).unwrap(),
                canonical,
                "{variant}"
            );
        }
    }

    #[test]
    fn rejects_invalid_characters_by_position() {
        assert_eq!(
            Secret::from_base32("JBSWY3DPEHPK3PX1"),
            Err(SecretError::InvalidCharacter { position: 16 })
        );
        assert_eq!(
            Secret::from_base32("JB=SWY3D"),
            Err(SecretError::InvalidCharacter { position: 3 })
        );
        assert_eq!(
            Secret::from_base32("JBSWÉ3DP"),
            Err(SecretError::InvalidCharacter { position: 5 })
        );
        assert_eq!(Secret::from_base32("  =="), Err(SecretError::Empty));
        assert_eq!(
            Secret::from_base32("JBSWY3DPE"),
            Err(SecretError::InvalidLength { length: 9 })
        );
    }

    #[test]
    fn every_length_round_trips() {
        for len in 1..=64 {
            let secret = Secret::from_bytes((0..len as u8).map(|b| b.wrapping_mul(37)).collect());
            assert_eq!(Secret::from_base32(&secret.to_base32()).unwrap(), secret);
        }
    }

    #[test]
    fn debug_is_redacted() {
        let secret = Secret::from_base32("JBSWY3DPEHPK3PXP").unwrap();
        let shown = format!("{secret:?}");
        assert_eq!(shown, "Secret(<redacted, 80 bits>)");
        assert!(!shown.contains("JBSW"));
    }

    #[test]
    fn generated_secrets_are_fresh() {
        let a = Secret::generate(Secret::GENERATED_BYTES);
        let b = Secret::generate(Secret::GENERATED_BYTES);
        assert_eq!(a.bits(), 160);
        assert_ne!(a, b);
    }
}
