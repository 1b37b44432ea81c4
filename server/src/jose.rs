//! The server's own small JOSE: JWTs in the JWS compact serialization (RFC 7515/7519) signed
//! with RS256 (Google service accounts) or ES256 (APNs `.p8` keys, ID tokens), ES256 signatures
//! checked against a public key, and P-256 keys as PKCS#8 PEM and as JWKs (RFC 7517/7518, the
//! RFC 7638 thumbprint). Only what the push senders and the OpenID provider need.

use ring::signature::{
    EcdsaKeyPair, KeyPair, RsaKeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
    ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::PrivatePkcs8KeyDer;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::secrets::SecretString;

/// A key that signs JWTs: RS256 or ES256. Its `Debug` never shows key material.
pub(crate) enum SigningKey {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SigningKey::Rsa(_) => "SigningKey(RS256, <redacted>)",
            SigningKey::Ec(_) => "SigningKey(ES256, <redacted>)",
        })
    }
}

impl SigningKey {
    /// The RSA key of a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`); `None` for anything else.
    pub(crate) fn rsa_of_pem(pem: &[u8]) -> Option<SigningKey> {
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem).ok()?;
        RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
            .ok()
            .map(SigningKey::Rsa)
    }

    /// The EC P-256 key of a PKCS#8 PEM; `None` for anything else.
    pub(crate) fn p256_of_pem(pem: &[u8]) -> Option<SigningKey> {
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem).ok()?;
        EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            der.secret_pkcs8_der(),
            &ring::rand::SystemRandom::new(),
        )
        .ok()
        .map(SigningKey::Ec)
    }

    /// The uncompressed public point (`04 || x || y`) of a P-256 key; `None` for RSA.
    pub(crate) fn p256_public(&self) -> Option<&[u8]> {
        match self {
            SigningKey::Ec(key) => Some(key.public_key().as_ref()),
            SigningKey::Rsa(_) => None,
        }
    }

    /// `header.claims.signature`, each base64url without padding.
    pub(crate) fn sign(
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

/// A new random P-256 key as PKCS#8 PEM (what an operator's key file holds).
pub(crate) fn generate_p256_pem() -> Zeroizing<String> {
    let document = EcdsaKeyPair::generate_pkcs8(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        &ring::rand::SystemRandom::new(),
    )
    .expect("the operating system's random source failed");
    let body = Zeroizing::new(data_encoding::BASE64.encode(document.as_ref()));
    let mut pem = Zeroizing::new(String::from("-----BEGIN PRIVATE KEY-----\n"));
    for line in body.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    pem
}

/// The `x` and `y` coordinates (base64url) of an uncompressed P-256 point.
pub(crate) fn p256_coordinates(point: &[u8]) -> (String, String) {
    let b64 = |bytes: &[u8]| data_encoding::BASE64URL_NOPAD.encode(bytes);
    (b64(&point[1..33]), b64(&point[33..65]))
}

/// The RFC 7638 JWK thumbprint (SHA-256, base64url) of a P-256 public point.
pub(crate) fn p256_thumbprint(point: &[u8]) -> String {
    let (x, y) = p256_coordinates(point);
    // The required members in lexicographic order, no whitespace (RFC 7638 section 3.2).
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    data_encoding::BASE64URL_NOPAD
        .encode(ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes()).as_ref())
}

fn base64_json(value: &impl Serialize) -> Result<String, String> {
    serde_json::to_vec(value)
        .map(|json| data_encoding::BASE64URL_NOPAD.encode(&json))
        .map_err(|_| "encoding the JWT failed".to_owned())
}

/// The protected header fields a verifier reads.
#[derive(Debug, Deserialize)]
pub(crate) struct Header {
    pub alg: String,
    #[serde(default)]
    pub kid: Option<String>,
}

/// Why a JWT was refused; the texts are the ones the endpoints answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum JoseError {
    #[error("it is not a JWT (three base64url parts of JSON)")]
    Malformed,
    #[error("its alg must be ES256")]
    Algorithm,
    #[error("it is signed by a key this server does not publish")]
    UnknownKey,
    #[error("its signature does not verify")]
    Signature,
}

/// The header and claims of a compact JWS whose ES256 signature verifies under the public point
/// `key_of(kid)` gives; nothing but ES256 is accepted (`none` and HMAC included).
pub(crate) fn verify_es256<'a, T: DeserializeOwned>(
    jwt: &str,
    key_of: impl Fn(Option<&str>) -> Option<&'a [u8]>,
) -> Result<(Header, T), JoseError> {
    let mut parts = jwt.split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JoseError::Malformed);
    };
    let decode = |part: &str| {
        data_encoding::BASE64URL_NOPAD
            .decode(part.as_bytes())
            .map_err(|_| JoseError::Malformed)
    };
    let parsed: Header =
        serde_json::from_slice(&decode(header)?).map_err(|_| JoseError::Malformed)?;
    let body: T = serde_json::from_slice(&decode(claims)?).map_err(|_| JoseError::Malformed)?;
    if parsed.alg != "ES256" {
        return Err(JoseError::Algorithm);
    }
    let public = key_of(parsed.kid.as_deref()).ok_or(JoseError::UnknownKey)?;
    let signed = &jwt[..header.len() + 1 + claims.len()];
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, public)
        .verify(signed.as_bytes(), &decode(signature)?)
        .map_err(|_| JoseError::Signature)?;
    Ok((parsed, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Claims {
        sub: String,
    }

    fn new_key() -> SigningKey {
        SigningKey::p256_of_pem(generate_p256_pem().as_bytes()).unwrap()
    }

    #[test]
    fn es256_tokens_verify_under_their_key_only() {
        let key = new_key();
        let other = new_key();
        let header = serde_json::json!({"alg": "ES256", "kid": "k1"});
        let jwt = key.sign(&header, &Claims { sub: "7".into() }).unwrap();
        let public = key.p256_public().unwrap();
        let (header, claims): (Header, Claims) =
            verify_es256(jwt.expose(), |kid| (kid == Some("k1")).then_some(public)).unwrap();
        assert_eq!(header.kid.as_deref(), Some("k1"));
        assert_eq!(claims, Claims { sub: "7".into() });
        let wrong = other.p256_public().unwrap();
        assert_eq!(
            verify_es256::<Claims>(jwt.expose(), |_| Some(wrong)).unwrap_err(),
            JoseError::Signature
        );
        assert_eq!(
            verify_es256::<Claims>(jwt.expose(), |_| None).unwrap_err(),
            JoseError::UnknownKey
        );
        assert_eq!(
            verify_es256::<Claims>("a.b", |_| Some(public)).unwrap_err(),
            JoseError::Malformed
        );
    }

    #[test]
    fn alg_none_is_refused() {
        let b64 = |v: &str| data_encoding::BASE64URL_NOPAD.encode(v.as_bytes());
        let jwt = format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(r#"{"sub":"7"}"#));
        let public = new_key().p256_public().unwrap().to_vec();
        assert_eq!(
            verify_es256::<Claims>(&jwt, |_| Some(&public)).unwrap_err(),
            JoseError::Algorithm
        );
    }

    #[test]
    fn thumbprint_matches_rfc_7638_for_a_known_point() {
        // The P-256 key of RFC 7517 appendix A.1; the value was computed independently with
        // Python's hashlib over the RFC 7638 canonical JSON of the same point.
        let x = data_encoding::BASE64URL_NOPAD
            .decode(b"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU")
            .unwrap();
        let y = data_encoding::BASE64URL_NOPAD
            .decode(b"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0")
            .unwrap();
        let point = [&[4u8][..], &x, &y].concat();
        assert_eq!(p256_thumbprint(&point), THUMBPRINT);
    }

    const THUMBPRINT: &str = "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U";

    #[test]
    fn debug_shows_no_key_material() {
        assert_eq!(format!("{:?}", new_key()), "SigningKey(ES256, <redacted>)");
    }
}
