//! What the server sends to deliver codes (docs/protocol.md, "Delivery"): the SMS webhook's body,
//! and the `--dev` outbox listing.

use serde::{Deserialize, Serialize};

/// `[sms_webhook]`: the body POSTed for each SMS.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SmsWebhook {
    /// `+E.164`.
    pub to: String,
    pub body: String,
}

/// `GET /dev/outbox` (`--dev` only): the newest 200 messages.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DevOutbox {
    pub messages: Vec<DevMessage>,
}

#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DevMessage {
    pub id: i64,
    /// `email` or `sms`.
    pub channel: String,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub created_at: u64,
    pub sent_at: Option<u64>,
    pub attempts: u32,
}

crate::redacted_debug!(SmsWebhook, DevMessage);
