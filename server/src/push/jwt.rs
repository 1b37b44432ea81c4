//! What the push services' credentials are made of: PKCS#8 keys read from the operator's files,
//! JWTs signed with them (JWS compact serialization, RFC 7515/7519), the service URLs and the
//! HTTP client that reaches them.

use std::path::Path;
use std::time::Duration;

use ring::signature::{
    EcdsaKeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::PrivatePkcs8KeyDer;
use serde::Serialize;

use crate::secrets::SecretString;

/// A key that signs JWTs: RS256 (Google service accounts) or ES256 (APNs `.p8` keys).
pub(super) enum SigningKey {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

impl SigningKey {
    /// The RSA key of a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`); `None` for anything else.
    pub(super) fn rsa_of_pem(pem: &[u8]) -> Option<SigningKey> {
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem).ok()?;
        RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
            .ok()
            .map(SigningKey::Rsa)
    }

    /// The EC P-256 key of a PKCS#8 PEM; `None` for anything else.
    pub(super) fn p256_of_pem(pem: &[u8]) -> Option<SigningKey> {
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem).ok()?;
        EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            der.secret_pkcs8_der(),
            &ring::rand::SystemRandom::new(),
        )
        .ok()
        .map(SigningKey::Ec)
    }

    /// `header.claims.signature`, each base64url without padding.
    pub(super) fn sign(
        &self,
        header: &impl Serialize,
        claims: &impl Serialize,
    ) -> Result<SecretString, String> {
        let mut jwt = format!("{}.{}", base64_json(header)?, base64_json(claims)?);
        let rng = ring::rand::SystemRandom::new();
        let signature = match self {
            SigningKey::Rsa(key) => {
                let mut signature = vec![0; key.public().modulus_len()];
                key.sign(&RSA_PKCS1_SHA256, &rng, jwt.as_bytes(), &mut signature)
                    .map_err(|_| "signing the JWT failed".to_owned())?;
                signature
            }
            SigningKey::Ec(key) => key
                .sign(&rng, jwt.as_bytes())
                .map_err(|_| "signing the JWT failed".to_owned())?
                .as_ref()
                .to_vec(),
        };
        jwt.push('.');
        jwt.push_str(&data_encoding::BASE64URL_NOPAD.encode(&signature));
        Ok(SecretString::new(jwt))
    }
}

fn base64_json(value: &impl Serialize) -> Result<String, String> {
    serde_json::to_vec(value)
        .map(|json| data_encoding::BASE64URL_NOPAD.encode(&json))
        .map_err(|_| "encoding the JWT failed".to_owned())
}

/// Reads an operator's key file, naming the config key in the error (never the content).
pub(super) fn read_key_file(
    setting: &str,
    path: &Path,
) -> Result<zeroize::Zeroizing<Vec<u8>>, String> {
    std::fs::read(path)
        .map(zeroize::Zeroizing::new)
        .map_err(|e| format!("{setting} {}: {e}", path.display()))
}

/// `url` without a trailing `/`, if it is https (or http to a loopback address, for
/// stand-ins); `setting` names it in the error.
pub(super) fn service_url(setting: &str, url: &str) -> Result<String, String> {
    let parsed = reqwest::Url::parse(url).map_err(|_| format!("{setting} {url:?} is not a URL"))?;
    let host = parsed.host_str().unwrap_or("");
    let loopback = host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(format!("{setting} {url:?} must be an https URL")),
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// The client of one push service: timeouts set, no redirects, HTTP/2 only when `http2_only`
/// (ALPN `h2` over TLS, prior knowledge over loopback http), the public roots plus those of
/// `extra_roots` (a PEM file).
pub(super) fn http_client(
    http2_only: bool,
    extra_roots: Option<(&str, &Path)>,
) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none());
    if http2_only {
        builder = builder.http2_prior_knowledge();
    }
    if let Some((setting, path)) = extra_roots {
        let pem = std::fs::read(path).map_err(|e| format!("{setting} {}: {e}", path.display()))?;
        let roots = reqwest::Certificate::from_pem_bundle(&pem)
            .ok()
            .filter(|roots| !roots.is_empty())
            .ok_or_else(|| format!("{setting} {}: no PEM certificate in it", path.display()))?;
        for root in roots {
            builder = builder.add_root_certificate(root);
        }
    }
    builder
        .build()
        .map_err(|e| format!("push service client: {e}"))
}

/// The `Retry-After` of an answer, in seconds (an HTTP date is not read: the backoff applies).
pub(super) fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
        .map(Duration::from_secs)
}

/// A vendor's error code as it may be logged: a short word of `A-Z a-z 0-9 _ . -`, else a
/// placeholder (an answer never brings arbitrary text into the logs).
pub(super) fn code_of(code: &str) -> &str {
    let word = !code.is_empty()
        && code.len() <= 64
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if word {
        code
    } else {
        "(no error code)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_urls_are_https_except_to_loopback() {
        let url = |u: &str| service_url("push_sender.fcm.base_url", u);
        assert_eq!(
            url("https://fcm.googleapis.com/").unwrap(),
            "https://fcm.googleapis.com"
        );
        assert_eq!(
            url("http://127.0.0.1:4000").unwrap(),
            "http://127.0.0.1:4000"
        );
        assert_eq!(
            url("http://fcm.example").unwrap_err(),
            "push_sender.fcm.base_url \"http://fcm.example\" must be an https URL"
        );
        assert_eq!(
            url("fcm").unwrap_err(),
            "push_sender.fcm.base_url \"fcm\" is not a URL"
        );
    }

    #[test]
    fn only_short_words_of_an_answer_reach_the_logs() {
        assert_eq!(code_of("UNREGISTERED"), "UNREGISTERED");
        assert_eq!(code_of("BadDeviceToken"), "BadDeviceToken");
        assert_eq!(code_of("token abc123 is bad"), "(no error code)");
        assert_eq!(code_of(""), "(no error code)");
    }
}
