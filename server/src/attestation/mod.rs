//! Device attestation at activation (docs/protocol.md "Device attestation"): proof from the
//! phone's platform that the key being registered lives in its hardware, was made for this
//! activation code, and (Android) needs the user to unlock it. Passwordless push trusts
//! `user_verification` only from such a device (`push.require_attestation`).
//!
//! - [`android`]: Android Key Attestation (X.509 chain to Google's roots, key description).
//! - [`apple`]: Apple App Attest (CBOR attestation object, chain to Apple's root, nonce).

mod android;
mod apple;
mod x509;

use crate::config::AttestationConfig;

/// Why an attestation did not verify: a sentence for the `invalid_attestation` answer (it
/// names what failed, never a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationError(pub String);

pub(crate) type Check<T> = Result<T, AttestationError>;

pub(crate) fn fail(reason: impl Into<String>) -> AttestationError {
    AttestationError(reason.into())
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    crate::secrets::constant_time_eq(a, b)
}

/// The `attestation` member of an activation, as sent.
pub use authcore_protocol::devices::Attestation;

/// The trust roots and app ids loaded from `[attestation]` at start.
#[derive(Debug, Clone)]
pub struct Verifier {
    android_roots: Vec<x509::Root>,
    apple_roots: Vec<x509::Root>,
    apple_app_ids: Vec<String>,
    apple_development: bool,
}

impl Verifier {
    /// Reads the configured roots (none configured: every attestation of that format fails).
    pub fn load(config: &AttestationConfig) -> Result<Verifier, String> {
        let roots = |paths: &[std::path::PathBuf], key: &str| -> Result<Vec<x509::Root>, String> {
            let texts: Vec<(String, String)> = paths
                .iter()
                .map(|p| {
                    std::fs::read_to_string(p)
                        .map(|t| (p.display().to_string(), t))
                        .map_err(|e| format!("attestation.{key}: {}: {e}", p.display()))
                })
                .collect::<Result<_, _>>()?;
            let mut out = Vec::new();
            for (name, text) in texts {
                let ders = x509::pem_certificates(&text)
                    .map_err(|e| format!("attestation.{key}: {name}: {e}"))?;
                if ders.is_empty() {
                    return Err(format!("attestation.{key}: {name} holds no certificate"));
                }
                for der in ders {
                    out.push(
                        x509::Root::from_der(der)
                            .map_err(|e| format!("attestation.{key}: {name}: {}", e.0))?,
                    );
                }
            }
            Ok(out)
        };
        Ok(Verifier {
            android_roots: roots(&config.android_roots, "android_roots")?,
            apple_roots: roots(&config.apple_roots, "apple_roots")?,
            apple_app_ids: config.apple_app_ids.clone(),
            apple_development: config.apple_development,
        })
    }

    /// Whether this server can judge attestations of `attestation`'s format: a root configured
    /// (and, for App Attest, an app id). A server that trusts no root of a format does not
    /// refuse the phones that send one: their devices are recorded as not attested.
    pub fn can_verify(&self, attestation: &Attestation) -> bool {
        match attestation {
            Attestation::AndroidKey { .. } => !self.android_roots.is_empty(),
            Attestation::AppleAppAttest { .. } => {
                !self.apple_roots.is_empty() && !self.apple_app_ids.is_empty()
            }
        }
    }

    /// Checks `attestation` of the device key `spki` for the activation `challenge`
    /// ([`authcore::device_protocol::attestation_challenge`]).
    pub fn verify(
        &self,
        attestation: &Attestation,
        challenge: &[u8],
        spki: &[u8],
    ) -> Result<(), AttestationError> {
        match attestation {
            Attestation::AndroidKey { certificates } => {
                if certificates.is_empty() || certificates.len() > x509::MAX_CHAIN {
                    return Err(fail(format!(
                        "certificates must hold 1 to {} certificates",
                        x509::MAX_CHAIN
                    )));
                }
                let ders = certificates
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        base64url(c)
                            .ok_or_else(|| fail(format!("certificates[{i}] is not base64url")))
                    })
                    .collect::<Check<Vec<_>>>()?;
                android::verify(&ders, &self.android_roots, challenge, spki)
            }
            Attestation::AppleAppAttest { object, key_id } => {
                let object =
                    base64url(object).ok_or_else(|| fail("object is not base64url CBOR"))?;
                // DCAppAttestService hands out the key id in standard base64; either works.
                let key_id = base64url(key_id)
                    .or_else(|| data_encoding::BASE64.decode(key_id.as_bytes()).ok())
                    .filter(|k| k.len() == 32)
                    .ok_or_else(|| {
                        fail("key_id must be the 32-byte App Attest key id in base64")
                    })?;
                if self.apple_app_ids.is_empty() {
                    return Err(fail(
                        "no Apple app id is configured (attestation.apple_app_ids)",
                    ));
                }
                let trust = apple::AppleTrust {
                    roots: &self.apple_roots,
                    app_ids: &self.apple_app_ids,
                    development: self.apple_development,
                };
                apple::verify(&object, &key_id, &trust, challenge, spki)
            }
        }
    }
}

fn base64url(text: &str) -> Option<Vec<u8>> {
    data_encoding::BASE64URL_NOPAD
        .decode(text.trim_end_matches('=').as_bytes())
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_root_list_trusts_nothing() {
        let verifier = Verifier::load(&AttestationConfig::default()).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let self_signed = rcgen::CertificateParams::new(Vec::<String>::new())
            .unwrap()
            .self_signed(&key)
            .unwrap()
            .der()
            .to_vec();
        let attestation = Attestation::AndroidKey {
            certificates: vec![data_encoding::BASE64URL_NOPAD.encode(&self_signed)],
        };
        let error = verifier.verify(&attestation, &[0; 32], b"key").unwrap_err();
        assert_eq!(error.0, "no trusted root is configured for this format");
    }
}
