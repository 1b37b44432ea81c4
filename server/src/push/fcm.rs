//! Firebase Cloud Messaging, HTTP v1: a service account's RS256 JWT exchanged for an OAuth access
//! token (cached until shortly before it expires; one exchange at a time), then a data-only,
//! high-priority message per device. Error handling follows Google's FCM v1 error codes.

use serde::{Deserialize, Serialize};

use super::jwt::{code_of, http_client, read_key_file, retry_after, service_url, SigningKey};
use super::wake::{Attempt, Wake};
use crate::config::FcmConfig;
use crate::secrets::SecretString;
use crate::store::PushTarget;
use crate::Clock;

const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const DEFAULT_BASE: &str = "https://fcm.googleapis.com";
const SETTING: &str = "push_sender.fcm.service_account_file";

/// The fields of a Google service account key file the sender uses.
#[derive(Deserialize)]
struct KeyFile {
    client_email: String,
    private_key: SecretString,
    #[serde(default)]
    private_key_id: Option<String>,
    token_uri: String,
    project_id: String,
}

pub(super) struct Fcm {
    client: reqwest::Client,
    send_url: String,
    token_uri: String,
    client_email: String,
    key_id: Option<String>,
    key: SigningKey,
    /// The access token and when to renew it (server clock); the lock is held during an
    /// exchange, so concurrent pushes wait for one exchange instead of making their own.
    token: tokio::sync::Mutex<Option<AccessToken>>,
    clock: Clock,
}

struct AccessToken {
    token: SecretString,
    renew_at: u64,
}

impl Fcm {
    /// Reads and checks the service account key file.
    pub(super) fn load(config: &FcmConfig, clock: Clock) -> Result<Fcm, String> {
        let path = &config.service_account_file;
        let at = |what: &str| format!("{SETTING} {}: {what}", path.display());
        let bytes = read_key_file(SETTING, path)?;
        let file: KeyFile = serde_json::from_slice(&bytes).map_err(|e| {
            // serde's text may quote a value; only a missing field is named.
            let message = e.to_string();
            match message.split(" at line ").next() {
                Some(missing) if missing.starts_with("missing field") => {
                    at(&format!("not a service account key file ({missing})"))
                }
                _ => at("not a service account key file (JSON with client_email, private_key, token_uri, project_id)"),
            }
        })?;
        let key = SigningKey::rsa_of_pem(file.private_key.expose().as_bytes())
            .ok_or_else(|| at("private_key is not a PKCS#8 PEM RSA key"))?;
        if file.client_email.trim().is_empty() {
            return Err(at("client_email is empty"));
        }
        let project_id = config
            .project_id
            .clone()
            .unwrap_or(file.project_id)
            .trim()
            .to_owned();
        if project_id.is_empty()
            || !project_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':'))
        {
            return Err(at(
                "project_id must be a Firebase project id (a-z 0-9 - . :)",
            ));
        }
        let base = service_url(
            "push_sender.fcm.base_url",
            config.base_url.as_deref().unwrap_or(DEFAULT_BASE),
        )?;
        Ok(Fcm {
            client: http_client(false, None)?,
            send_url: format!("{base}/v1/projects/{project_id}/messages:send"),
            token_uri: service_url(&format!("{SETTING} token_uri"), &file.token_uri)?,
            client_email: file.client_email,
            key_id: file.private_key_id,
            key,
            token: tokio::sync::Mutex::new(None),
            clock,
        })
    }

    /// One `messages:send` to `push_token`.
    pub(super) async fn send(&self, push_token: &str, target: &PushTarget, wake: Wake) -> Attempt {
        let access = match self.access_token().await {
            Ok(token) => token,
            Err(attempt) => return attempt,
        };
        let ttl = wake.expires_at.saturating_sub(self.clock.now()).max(1);
        let message = SendRequest {
            message: Message {
                token: push_token,
                data: wake.ids(target),
                android: Android {
                    priority: "high",
                    ttl: format!("{ttl}s"),
                },
            },
        };
        let response = match self
            .client
            .post(&self.send_url)
            .bearer_auth(access.expose())
            .json(&message)
            .send()
            .await
        {
            Ok(response) => response,
            Err(_) => {
                return Attempt::Later {
                    reason: "FCM unreachable".into(),
                    retry_after: None,
                }
            }
        };
        let status = response.status().as_u16();
        if response.status().is_success() {
            return Attempt::Delivered;
        }
        let later = retry_after(&response);
        let error = response
            .json::<ErrorBody>()
            .await
            .map(|body| body.error)
            .unwrap_or_default();
        let code = error
            .details
            .iter()
            .find(|d| d.kind.ends_with("google.firebase.fcm.v1.FcmError"))
            .and_then(|d| d.error_code.clone())
            .unwrap_or_default();
        let reason = format!(
            "FCM answered {status} {}",
            code_of(if code.is_empty() {
                &error.status
            } else {
                &code
            })
        );
        match (status, code.as_str()) {
            // An invalid token is an `FcmError` INVALID_ARGUMENT; other invalid arguments come
            // as a `BadRequest` naming the field, and are not the token's fault.
            (_, "UNREGISTERED" | "INVALID_ARGUMENT") => Attempt::StaleToken(code),
            (401, code) if code != "THIRD_PARTY_AUTH_ERROR" => {
                self.drop_token(&access).await;
                Attempt::Reauthorize(reason)
            }
            (429 | 500..=599, _) => Attempt::Later {
                reason,
                retry_after: later,
            },
            _ => Attempt::Failed(reason),
        }
    }

    /// The cached access token, or a new one from the token endpoint.
    async fn access_token(&self) -> Result<SecretString, Attempt> {
        let mut cached = self.token.lock().await;
        let now = self.clock.now();
        if let Some(token) = cached.as_ref().filter(|t| t.renew_at > now) {
            return Ok(token.token.clone());
        }
        let fresh = self.exchange(now).await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// Forgets `refused` if it is still the cached token (another push may have renewed it).
    async fn drop_token(&self, refused: &SecretString) {
        let mut cached = self.token.lock().await;
        if cached
            .as_ref()
            .is_some_and(|t| t.token.expose() == refused.expose())
        {
            *cached = None;
        }
    }

    /// The JWT bearer grant (RFC 7523) at the service account's `token_uri`.
    async fn exchange(&self, now: u64) -> Result<AccessToken, Attempt> {
        let assertion = self
            .key
            .sign(
                &Header {
                    alg: "RS256",
                    typ: "JWT",
                    kid: self.key_id.as_deref(),
                },
                &Claims {
                    iss: &self.client_email,
                    scope: SCOPE,
                    aud: &self.token_uri,
                    iat: now,
                    exp: now + 3600,
                },
            )
            .map_err(Attempt::Failed)?;
        let response = self
            .client
            .post(&self.token_uri)
            .form(&[
                ("grant_type", GRANT_TYPE),
                ("assertion", assertion.expose()),
            ])
            .send()
            .await
            .map_err(|_| Attempt::Later {
                reason: "the FCM token endpoint is unreachable".into(),
                retry_after: None,
            })?;
        let status = response.status().as_u16();
        if status == 429 || status >= 500 {
            return Err(Attempt::Later {
                reason: format!("the FCM token endpoint answered {status}"),
                retry_after: retry_after(&response),
            });
        }
        if !response.status().is_success() {
            let error = response
                .json::<TokenError>()
                .await
                .map(|e| e.error)
                .unwrap_or_default();
            return Err(Attempt::Failed(format!(
                "the FCM token endpoint refused the service account: {status} {}",
                code_of(&error)
            )));
        }
        let token: TokenAnswer = response.json().await.map_err(|_| {
            Attempt::Failed("the FCM token endpoint's answer has no access_token".into())
        })?;
        // Renewed five minutes before it expires (half its life if it is shorter than that).
        let margin = (token.expires_in / 2).min(300);
        Ok(AccessToken {
            token: token.access_token,
            renew_at: now + token.expires_in - margin,
        })
    }
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: &'static str,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: SecretString,
    expires_in: u64,
}

#[derive(Deserialize, Default)]
struct TokenError {
    #[serde(default)]
    error: String,
}

#[derive(Serialize)]
struct SendRequest<'a> {
    message: Message<'a>,
}

/// A data-only message: the app's service wakes and fetches the request; nothing is shown.
#[derive(Serialize)]
struct Message<'a> {
    token: &'a str,
    data: authcore_protocol::devices::Wake,
    android: Android,
}

#[derive(Serialize)]
struct Android {
    priority: &'static str,
    ttl: String,
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    error: ErrorStatus,
}

#[derive(Deserialize, Default)]
struct ErrorStatus {
    #[serde(default)]
    status: String,
    #[serde(default)]
    details: Vec<ErrorDetail>,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(rename = "@type", default)]
    kind: String,
    #[serde(rename = "errorCode", default)]
    error_code: Option<String>,
}
