//! How messages leave the server: new push requests, mail over SMTP and text messages through a
//! webhook.

use serde::Deserialize;

use crate::secrets::SecretString;

/// How a new push request reaches the user's devices.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum PushSenderConfig {
    /// Devices long-poll `GET /v1/devices/challenges`.
    #[default]
    None,
    /// `POST {"device_id", "request_id"}` (JSON) to `url` for each device; no secrets.
    Webhook {
        url: String,
        /// Sent as `Authorization: Bearer ...` when set.
        #[serde(default)]
        bearer_token: Option<SecretString>,
    },
    /// The platforms' own push services, each device by its `platform`: FCM for `android`,
    /// APNs for `ios` (at least one of the two).
    Platform {
        #[serde(default)]
        fcm: Option<FcmConfig>,
        #[serde(default)]
        apns: Option<ApnsConfig>,
        /// Attempts per device when the service answers "later" (429, 5xx): 1 to 10.
        #[serde(default = "default_max_attempts")]
        max_attempts: u32,
        /// The wait before the first retry, doubled for each next one (a `Retry-After` wins).
        #[serde(default = "default_retry_delay_ms")]
        retry_delay_ms: u64,
    },
}

fn default_max_attempts() -> u32 {
    4
}

fn default_retry_delay_ms() -> u64 {
    1000
}

/// Firebase Cloud Messaging (HTTP v1) with a Google service account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FcmConfig {
    /// The service account's JSON key file (`client_email`, `private_key`, `token_uri`,
    /// `project_id`), as the Firebase console downloads it.
    pub service_account_file: std::path::PathBuf,
    /// Overrides the key file's `project_id`.
    #[serde(default)]
    pub project_id: Option<String>,
    /// `https://fcm.googleapis.com` unless set (a stand-in in tests).
    #[serde(default)]
    pub base_url: Option<String>,
}

/// Apple Push Notification service with a token-based (`.p8`) key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApnsConfig {
    /// The `.p8` key file (PKCS#8 EC P-256) downloaded from the Apple Developer account.
    pub key_file: std::path::PathBuf,
    /// The key's 10-character id.
    pub key_id: String,
    /// The 10-character team id.
    pub team_id: String,
    /// The app's bundle id (`apns-topic`).
    pub topic: String,
    #[serde(default)]
    pub environment: ApnsEnvironment,
    /// Overrides the environment's host (a stand-in in tests).
    #[serde(default)]
    pub base_url: Option<String>,
    /// A PEM file of extra roots the APNs host's certificate may chain to (a stand-in's test
    /// CA); the public roots are trusted either way.
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ApnsEnvironment {
    /// `api.push.apple.com`: apps from the App Store and TestFlight.
    #[default]
    Production,
    /// `api.sandbox.push.apple.com`: development builds.
    Sandbox,
}

impl PushSenderConfig {
    /// The checks made on load (the key files are read when the server starts).
    pub(super) fn check(&self) -> Result<(), String> {
        let PushSenderConfig::Platform {
            fcm,
            apns,
            max_attempts,
            retry_delay_ms,
        } = self
        else {
            return Ok(());
        };
        if fcm.is_none() && apns.is_none() {
            return Err(
                "push_sender type \"platform\" needs [push_sender.fcm], [push_sender.apns] or both"
                    .into(),
            );
        }
        if !(1..=10).contains(max_attempts) || *retry_delay_ms > 60_000 {
            return Err(
                "push_sender.max_attempts must be 1 to 10 and push_sender.retry_delay_ms at most 60000"
                    .into(),
            );
        }
        if let Some(fcm) = fcm {
            if fcm.project_id.as_ref().is_some_and(|p| p.trim().is_empty()) {
                return Err("push_sender.fcm.project_id must not be empty".into());
            }
        }
        if let Some(apns) = apns {
            let ten = |v: &str| v.len() == 10 && v.chars().all(|c| c.is_ascii_alphanumeric());
            if !ten(&apns.key_id) {
                return Err("push_sender.apns.key_id must be the key's 10-character id".into());
            }
            if !ten(&apns.team_id) {
                return Err("push_sender.apns.team_id must be the 10-character team id".into());
            }
            if apns.topic.trim().is_empty() || apns.topic.chars().any(char::is_whitespace) {
                return Err("push_sender.apns.topic must be the app's bundle id".into());
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain SMTP (loopback test servers only).
    None,
    #[default]
    Starttls,
    Tls,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    #[serde(default)]
    pub security: SmtpSecurity,
    pub from: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsWebhookConfig {
    /// Receives `POST {"to": "+1555...", "body": "..."}` as JSON.
    pub url: String,
    /// Sent as `Authorization: Bearer ...` when set.
    #[serde(default)]
    pub bearer_token: Option<SecretString>,
}
