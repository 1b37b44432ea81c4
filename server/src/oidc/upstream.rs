//! The upstream OpenID providers as seen by this server (a relying party): their discovery
//! document and JWK set, fetched over https (http only to loopback, the core's transport
//! policy) and cached, the JWK set fetched again when an ID token names an unknown `kid`; and
//! the code exchange at their token endpoint.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::Mutex;

use crate::config::UpstreamConfig;
use crate::secrets::SecretString;

/// Seconds a discovery document is used before it is fetched again.
const METADATA_TTL_S: u64 = 3600;
/// The shortest time (seconds) between two JWK set fetches of one provider (an unknown `kid`
/// cannot make the server hammer it).
const JWKS_REFETCH_MIN_S: u64 = 10;

/// Why an upstream could not be used; the texts are the ones the endpoints answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum UpstreamError {
    #[error("the provider {0} cannot be reached")]
    Unreachable(String),
    #[error("the provider {0} answered with a discovery document that is not usable: {1}")]
    BadMetadata(String, &'static str),
    #[error("the provider refused the code: {0}")]
    CodeRefused(String),
}

/// What this server reads of a discovery document.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

/// The tokens of a code exchange.
pub(crate) struct Exchanged {
    pub id_token: SecretString,
    pub access_token: Option<SecretString>,
}

/// One public key of a provider's JWK set (RSA or P-256; others are skipped).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct UpstreamJwk {
    pub kty: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub crv: Option<String>,
    #[serde(default)]
    pub n: Option<String>,
    #[serde(default)]
    pub e: Option<String>,
    #[serde(default)]
    pub x: Option<String>,
    #[serde(default)]
    pub y: Option<String>,
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<UpstreamJwk>,
}

struct Cached {
    metadata: Metadata,
    fetched: u64,
    keys: Vec<UpstreamJwk>,
    keys_fetched: Option<u64>,
}

/// The providers' documents, by upstream id.
pub(crate) struct Upstreams {
    http: reqwest::Client,
    cache: Mutex<HashMap<String, Arc<Mutex<Option<Cached>>>>>,
    /// The server's clock (tests move it past the cache times).
    clock: crate::Clock,
}

impl Upstreams {
    pub(crate) fn new(clock: crate::Clock) -> Self {
        Upstreams {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .connect_timeout(Duration::from_secs(5))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("the HTTP client builds"),
            cache: Mutex::default(),
            clock,
        }
    }

    async fn slot(&self, id: &str) -> Arc<Mutex<Option<Cached>>> {
        self.cache
            .lock()
            .await
            .entry(id.to_owned())
            .or_default()
            .clone()
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        upstream: &UpstreamConfig,
        url: &str,
    ) -> Result<T, UpstreamError> {
        let unreachable = || UpstreamError::Unreachable(upstream.id.clone());
        let url = authcore::http::check_url(url).map_err(|_| unreachable())?;
        let response = self.http.get(url).send().await.map_err(|e| {
            tracing::warn!(upstream = %upstream.id, error = %e, "upstream fetch failed");
            unreachable()
        })?;
        if !response.status().is_success() {
            tracing::warn!(upstream = %upstream.id, status = response.status().as_u16(), "upstream fetch refused");
            return Err(unreachable());
        }
        response.json().await.map_err(|_| {
            UpstreamError::BadMetadata(upstream.id.clone(), "the answer is not the JSON expected")
        })
    }

    /// The provider's discovery document (cached for an hour), checked: its `issuer` is the
    /// configured one and every endpoint follows the transport policy.
    pub(crate) async fn metadata(
        &self,
        upstream: &UpstreamConfig,
    ) -> Result<Metadata, UpstreamError> {
        let slot = self.slot(&upstream.id).await;
        let mut cached = slot.lock().await;
        if let Some(c) = cached
            .as_ref()
            .filter(|c| self.clock.now() < c.fetched + METADATA_TTL_S)
        {
            return Ok(c.metadata.clone());
        }
        let metadata: Metadata = self.get_json(upstream, &upstream.discovery_url()).await?;
        let bad = |why| Err(UpstreamError::BadMetadata(upstream.id.clone(), why));
        if metadata.issuer != upstream.issuer() {
            return bad("its issuer is not the configured one");
        }
        let endpoints = [
            &metadata.authorization_endpoint,
            &metadata.token_endpoint,
            &metadata.jwks_uri,
        ];
        if endpoints
            .iter()
            .any(|url| authcore::http::check_url(url).is_err())
        {
            return bad("an endpoint is not an https URL");
        }
        let keys = cached.take().map(|c| (c.keys, c.keys_fetched));
        let (keys, keys_fetched) = keys.unwrap_or_default();
        *cached = Some(Cached {
            metadata: metadata.clone(),
            fetched: self.clock.now(),
            keys,
            keys_fetched,
        });
        Ok(metadata)
    }

    /// The provider's key `kid` (its only key when the token names none), fetching the JWK set
    /// when it is not cached or does not hold that key.
    pub(crate) async fn key(
        &self,
        upstream: &UpstreamConfig,
        kid: Option<&str>,
    ) -> Result<Option<UpstreamJwk>, UpstreamError> {
        let metadata = self.metadata(upstream).await?;
        let slot = self.slot(&upstream.id).await;
        let mut cached = slot.lock().await;
        let find = |keys: &[UpstreamJwk]| match kid {
            Some(kid) => keys.iter().find(|k| k.kid.as_deref() == Some(kid)).cloned(),
            None if keys.len() == 1 => keys.first().cloned(),
            None => None,
        };
        if let Some(found) = cached.as_ref().and_then(|c| find(&c.keys)) {
            return Ok(Some(found));
        }
        let recent = cached
            .as_ref()
            .and_then(|c| c.keys_fetched)
            .is_some_and(|at| self.clock.now() < at + JWKS_REFETCH_MIN_S);
        if recent {
            return Ok(None);
        }
        let set: JwkSet = self.get_json(upstream, &metadata.jwks_uri).await?;
        let found = find(&set.keys);
        if let Some(c) = cached.as_mut() {
            c.keys = set.keys;
            c.keys_fetched = Some(self.clock.now());
        }
        Ok(found)
    }

    /// The provider's userinfo answer for `access_token` (OIDC Core 5.3), when it has the
    /// endpoint: where providers that keep the ID token small put the email.
    pub(crate) async fn userinfo<T: serde::de::DeserializeOwned>(
        &self,
        upstream: &UpstreamConfig,
        metadata: &Metadata,
        access_token: &SecretString,
    ) -> Result<Option<T>, UpstreamError> {
        let Some(endpoint) = &metadata.userinfo_endpoint else {
            return Ok(None);
        };
        let unreachable = || UpstreamError::Unreachable(upstream.id.clone());
        let url = authcore::http::check_url(endpoint).map_err(|_| unreachable())?;
        let response = self
            .http
            .get(url)
            .bearer_auth(access_token.expose())
            .send()
            .await
            .map_err(|_| unreachable())?;
        if !response.status().is_success() {
            return Err(UpstreamError::CodeRefused(format!(
                "its userinfo endpoint answered {}",
                response.status().as_u16()
            )));
        }
        response.json().await.map(Some).map_err(|_| {
            UpstreamError::CodeRefused("its userinfo endpoint answered without JSON".into())
        })
    }

    /// Exchanges the upstream's code (with this server's PKCE verifier) for its tokens.
    pub(crate) async fn exchange(
        &self,
        upstream: &UpstreamConfig,
        metadata: &Metadata,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> Result<Exchanged, UpstreamError> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ];
        let url = authcore::http::check_url(&metadata.token_endpoint)
            .map_err(|_| UpstreamError::Unreachable(upstream.id.clone()))?;
        let mut request = self.http.post(url);
        match &upstream.client_secret {
            // client_secret_basic (RFC 6749 2.3.1: both form-encoded first).
            Some(secret) => {
                let enc =
                    |v: &str| form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
                request = request.basic_auth(enc(&upstream.client_id), Some(enc(secret.expose())));
            }
            None => form.push(("client_id", &upstream.client_id)),
        }
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let response = request
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .map_err(|e| {
                tracing::warn!(upstream = %upstream.id, error = %e, "upstream token request failed");
                UpstreamError::Unreachable(upstream.id.clone())
            })?;
        #[derive(Deserialize)]
        struct Answer {
            #[serde(default)]
            id_token: Option<String>,
            #[serde(default)]
            access_token: Option<String>,
            #[serde(default)]
            error: Option<String>,
        }
        let status = response.status();
        let answer: Answer = response.json().await.map_err(|_| {
            UpstreamError::CodeRefused(format!("its token endpoint answered {status} without JSON"))
        })?;
        match (answer.id_token, answer.error) {
            (Some(id_token), None) if status.is_success() => Ok(Exchanged {
                id_token: SecretString::new(id_token),
                access_token: answer.access_token.map(SecretString::new),
            }),
            (_, Some(error)) => Err(UpstreamError::CodeRefused(word(&error))),
            _ => Err(UpstreamError::CodeRefused(
                "its token endpoint answered without an ID token".into(),
            )),
        }
    }
}

/// An upstream's error code as it may be shown: a short word of `A-Z a-z 0-9 _ . -`, else a
/// placeholder (an answer never brings arbitrary text into a page or a log).
pub(crate) fn word(code: &str) -> String {
    let ok = !code.is_empty()
        && code.len() <= 64
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        code.to_owned()
    } else {
        "(an unreadable error code)".to_owned()
    }
}
