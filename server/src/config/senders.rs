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
