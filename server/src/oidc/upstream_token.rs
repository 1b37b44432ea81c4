//! An upstream provider's ID token, checked (OIDC Core 3.1.3.7): the signature (RS256 or
//! ES256 under a key of the provider's JWK set; `none`, HMAC and everything else refused),
//! `iss` (a multi-tenant issuer filled in with the token's `tid`, which may have to be an
//! allowed tenant), `aud`, `azp`, `exp`, `iat`, `nonce`, then a verified email.

use ring::signature::{
    RsaPublicKeyComponents, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256,
};
use serde::Deserialize;

use super::upstream::{UpstreamError, UpstreamJwk, Upstreams};
use crate::config::{UpstreamConfig, TENANT_PLACEHOLDER};

/// Seconds of clock difference allowed for `exp` and `iat`.
const LEEWAY_S: u64 = 60;

/// What a checked ID token asserts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Asserted {
    /// The token's `iss` (a multi-tenant one filled in).
    pub issuer: String,
    pub subject: String,
    /// Lowercase; checked verified by [`Asserted::verified_email`].
    pub email: String,
    pub name: Option<String>,
}

/// The profile claims of an ID token or a userinfo answer (OIDC Core 5.1).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Profile {
    #[serde(default)]
    pub sub: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub email_verified: Option<serde_json::Value>,
    #[serde(default)]
    pub name: Option<String>,
}

impl Profile {
    /// The identity, when the profile carries a verified email.
    pub(crate) fn verified_email(
        self,
        issuer: String,
        subject: String,
    ) -> Result<Asserted, TokenRefusal> {
        let email = self.email.ok_or(TokenRefusal::NoEmail)?;
        // Some providers send the boolean as a string.
        let verified = matches!(&self.email_verified, Some(serde_json::Value::Bool(true)))
            || matches!(&self.email_verified, Some(serde_json::Value::String(s)) if s == "true");
        if !verified {
            return Err(TokenRefusal::EmailNotVerified);
        }
        Ok(Asserted {
            issuer,
            subject,
            email: email.trim().to_ascii_lowercase(),
            name: self.name,
        })
    }
}

/// A checked ID token: who it names and the profile claims it carries.
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    pub issuer: String,
    pub subject: String,
    pub profile: Profile,
}

/// Why an ID token was refused; each text but the email ones follows "the provider's ID token
/// is refused: ".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TokenRefusal {
    #[error("it is not a JWT (three base64url parts of JSON)")]
    Malformed,
    #[error("its alg {0} is not accepted (RS256 or ES256 only)")]
    Algorithm(String),
    #[error("it is signed by a key the provider does not publish")]
    UnknownKey,
    #[error("its signature does not verify")]
    Signature,
    #[error("its iss is not the provider's issuer")]
    Issuer,
    #[error("its tid does not match its issuer")]
    Tenant,
    #[error("its tenant is not one this organisation allows")]
    TenantNotAllowed,
    #[error("its aud does not include this server's client_id")]
    Audience,
    #[error("its azp is not this server's client_id")]
    AuthorizedParty,
    #[error("it expired")]
    Expired,
    #[error("its iat is in the future")]
    IssuedInFuture,
    #[error("its nonce is not the one this server sent")]
    Nonce,
    #[error("the provider asserted no email (in its ID token or userinfo)")]
    NoEmail,
    #[error("the provider did not assert that the email is verified (email_verified is not true)")]
    EmailNotVerified,
    #[error("{0}")]
    Upstream(#[from] UpstreamError),
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: Audience,
    #[serde(default)]
    azp: Option<String>,
    exp: u64,
    iat: u64,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    tid: Option<String>,
    #[serde(flatten)]
    profile: Profile,
}

fn b64(part: &str) -> Result<Vec<u8>, TokenRefusal> {
    data_encoding::BASE64URL_NOPAD
        .decode(part.as_bytes())
        .map_err(|_| TokenRefusal::Malformed)
}

fn verify_signature(
    key: &UpstreamJwk,
    alg: &str,
    signed: &[u8],
    signature: &[u8],
) -> Result<(), TokenRefusal> {
    let field = |v: &Option<String>| v.as_deref().ok_or(TokenRefusal::UnknownKey).and_then(b64);
    let verified = match (alg, key.kty.as_str()) {
        ("RS256", "RSA") => RsaPublicKeyComponents {
            n: field(&key.n)?,
            e: field(&key.e)?,
        }
        .verify(&RSA_PKCS1_2048_8192_SHA256, signed, signature),
        ("ES256", "EC") if key.crv.as_deref() == Some("P-256") => {
            let point = [vec![4u8], field(&key.x)?, field(&key.y)?].concat();
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).verify(signed, signature)
        }
        // The key named is not of the token's algorithm.
        _ => return Err(TokenRefusal::UnknownKey),
    };
    verified.map_err(|_| TokenRefusal::Signature)
}

/// Checks `jwt` from `upstream` for a request that sent `nonce`, at `now`.
pub(crate) async fn check(
    upstreams: &Upstreams,
    upstream: &UpstreamConfig,
    jwt: &str,
    nonce: &str,
    now: u64,
) -> Result<Checked, TokenRefusal> {
    let mut parts = jwt.split('.');
    let (Some(header), Some(body), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenRefusal::Malformed);
    };
    let parsed: Header =
        serde_json::from_slice(&b64(header)?).map_err(|_| TokenRefusal::Malformed)?;
    let claims: Claims =
        serde_json::from_slice(&b64(body)?).map_err(|_| TokenRefusal::Malformed)?;
    if !matches!(parsed.alg.as_str(), "RS256" | "ES256") {
        return Err(TokenRefusal::Algorithm(super::upstream::word(&parsed.alg)));
    }
    let key = upstreams
        .key(upstream, parsed.kid.as_deref())
        .await?
        .ok_or(TokenRefusal::UnknownKey)?;
    let signed = &jwt[..header.len() + 1 + body.len()];
    verify_signature(&key, &parsed.alg, signed.as_bytes(), &b64(signature)?)?;

    let template = upstream.issuer();
    if upstream.multi_tenant() {
        let tid = claims.tid.as_deref().ok_or(TokenRefusal::Tenant)?;
        if claims.iss != template.replace(TENANT_PLACEHOLDER, tid) {
            return Err(TokenRefusal::Tenant);
        }
        if !upstream.allowed_tenants.is_empty()
            && !upstream.allowed_tenants.iter().any(|t| t == tid)
        {
            return Err(TokenRefusal::TenantNotAllowed);
        }
    } else if claims.iss != template {
        return Err(TokenRefusal::Issuer);
    }
    let audiences = match &claims.aud {
        Audience::One(aud) => vec![aud.as_str()],
        Audience::Many(auds) => auds.iter().map(String::as_str).collect(),
    };
    if !audiences.contains(&upstream.client_id.as_str()) {
        return Err(TokenRefusal::Audience);
    }
    let azp_needed = audiences.len() > 1;
    match claims.azp.as_deref() {
        Some(azp) if azp != upstream.client_id => return Err(TokenRefusal::AuthorizedParty),
        None if azp_needed => return Err(TokenRefusal::AuthorizedParty),
        _ => {}
    }
    if claims.exp.saturating_add(LEEWAY_S) <= now {
        return Err(TokenRefusal::Expired);
    }
    if claims.iat > now.saturating_add(LEEWAY_S) {
        return Err(TokenRefusal::IssuedInFuture);
    }
    if claims.nonce.as_deref() != Some(nonce) {
        return Err(TokenRefusal::Nonce);
    }
    Ok(Checked {
        issuer: claims.iss,
        subject: claims.sub,
        profile: claims.profile,
    })
}
