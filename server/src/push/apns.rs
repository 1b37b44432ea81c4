//! Apple Push Notification service, token-based: an ES256 provider token signed with the team's
//! `.p8` key (reused, renewed after 50 minutes: Apple refuses one older than an hour and renewals
//! more often than every 20 minutes), an alert notification per device over HTTP/2. Error
//! handling follows Apple's "Handling notification responses from APNs".

use serde::{Deserialize, Serialize};

use super::jwt::{code_of, http_client, read_key_file, retry_after, service_url, SigningKey};
use super::wake::{Attempt, Wake};
use crate::config::{ApnsConfig, ApnsEnvironment};
use crate::secrets::SecretString;
use crate::store::PushTarget;
use crate::Clock;

/// A provider token is renewed once it is this old (seconds).
const RENEW_AFTER_S: u64 = 50 * 60;

pub(super) struct Apns {
    client: reqwest::Client,
    base: String,
    key_id: String,
    team_id: String,
    topic: String,
    key: SigningKey,
    /// The provider token and its `iat` (server clock).
    token: std::sync::Mutex<Option<(SecretString, u64)>>,
    clock: Clock,
}

impl Apns {
    /// Reads and checks the `.p8` key (and the extra roots, if any).
    pub(super) fn load(config: &ApnsConfig, clock: Clock) -> Result<Apns, String> {
        const SETTING: &str = "push_sender.apns.key_file";
        let pem = read_key_file(SETTING, &config.key_file)?;
        let key = SigningKey::p256_of_pem(&pem).ok_or_else(|| {
            format!(
                "{SETTING} {}: not a PKCS#8 PEM EC P-256 key (the .p8 file from Apple)",
                config.key_file.display()
            )
        })?;
        let host = match config.environment {
            ApnsEnvironment::Production => "https://api.push.apple.com",
            ApnsEnvironment::Sandbox => "https://api.sandbox.push.apple.com",
        };
        let base = service_url(
            "push_sender.apns.base_url",
            config.base_url.as_deref().unwrap_or(host),
        )?;
        let extra_roots = config
            .ca_file
            .as_deref()
            .map(|path| ("push_sender.apns.ca_file", path));
        Ok(Apns {
            client: http_client(true, extra_roots)?,
            base,
            key_id: config.key_id.clone(),
            team_id: config.team_id.clone(),
            topic: config.topic.clone(),
            key,
            token: std::sync::Mutex::new(None),
            clock,
        })
    }

    /// One `POST /3/device/{token}`.
    pub(super) async fn send(&self, push_token: &str, target: &PushTarget, wake: Wake) -> Attempt {
        // Device tokens are hex; anything else would change the path, and APNs would answer
        // BadDeviceToken for it anyway.
        if push_token.is_empty() || !push_token.chars().all(|c| c.is_ascii_hexdigit()) {
            return Attempt::StaleToken("BadDeviceToken (not hex)".into());
        }
        let provider = match self.provider_token() {
            Ok(token) => token,
            Err(reason) => return Attempt::Failed(reason),
        };
        let notification = Notification {
            aps: Aps {
                alert: Alert {
                    title: "Sign-in request",
                    body: "Open to approve or deny it.",
                },
                mutable_content: 1,
            },
            wake: wake.ids(target),
        };
        let response = match self
            .client
            .post(format!("{}/3/device/{push_token}", self.base))
            .header("authorization", format!("bearer {}", provider.expose()))
            .header("apns-push-type", "alert")
            .header("apns-topic", &self.topic)
            .header("apns-priority", "10")
            .header("apns-expiration", wake.expires_at.to_string())
            .header("apns-collapse-id", wake.request_id.to_string())
            .json(&notification)
            .send()
            .await
        {
            Ok(response) => response,
            Err(_) => {
                return Attempt::Later {
                    reason: "APNs unreachable".into(),
                    retry_after: None,
                }
            }
        };
        let status = response.status().as_u16();
        if response.status().is_success() {
            return Attempt::Delivered;
        }
        let later = retry_after(&response);
        let reason = response
            .json::<ErrorBody>()
            .await
            .map(|body| body.reason)
            .unwrap_or_default();
        let logged = format!("APNs answered {status} {}", code_of(&reason));
        match (status, reason.as_str()) {
            (410, _) | (400, "BadDeviceToken") => Attempt::StaleToken(code_of(&reason).to_owned()),
            (403, "ExpiredProviderToken") => {
                self.drop_token(&provider);
                Attempt::Reauthorize(logged)
            }
            (429 | 500 | 503, _) => Attempt::Later {
                reason: logged,
                retry_after: later,
            },
            _ => Attempt::Failed(logged),
        }
    }

    /// The provider token, signed anew when there is none or it is 50 minutes old.
    fn provider_token(&self) -> Result<SecretString, String> {
        let mut cached = self
            .token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = self.clock.now();
        if let Some((token, issued_at)) = cached.as_ref() {
            if now < issued_at + RENEW_AFTER_S {
                return Ok(token.clone());
            }
        }
        let token = self.key.sign(
            &Header {
                alg: "ES256",
                kid: &self.key_id,
            },
            &Claims {
                iss: &self.team_id,
                iat: now,
            },
        )?;
        *cached = Some((token.clone(), now));
        Ok(token)
    }

    /// Forgets `refused` if it is still the cached provider token.
    fn drop_token(&self, refused: &SecretString) {
        let mut cached = self
            .token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cached
            .as_ref()
            .is_some_and(|(token, _)| token.expose() == refused.expose())
        {
            *cached = None;
        }
    }
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    kid: &'a str,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    iat: u64,
}

/// A generic alert (no number, nothing of the sign-in) the notification service extension may
/// rewrite after fetching the request, and the two ids.
#[derive(Serialize)]
struct Notification {
    aps: Aps,
    #[serde(flatten)]
    wake: authcore_protocol::devices::Wake,
}

#[derive(Serialize)]
struct Aps {
    alert: Alert,
    #[serde(rename = "mutable-content")]
    mutable_content: u8,
}

#[derive(Serialize)]
struct Alert {
    title: &'static str,
    body: &'static str,
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    reason: String,
}
