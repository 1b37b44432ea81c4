//! What the server sends to deliver codes (docs/protocol.md, "Delivery"): the delivery webhook's
//! body (text messages and voice calls), and the `--dev` outbox listing.

use serde::{Deserialize, Serialize};

/// `[sms_webhook]`: the body POSTed for each text message and each voice call.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SmsWebhook {
    /// `sms` (send `body` as a text) or `voice` (call `to` and read `body` aloud).
    pub channel: crate::signin::Channel,
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
    /// `email`, `sms` or `voice`.
    pub channel: String,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub created_at: u64,
    pub sent_at: Option<u64>,
    pub attempts: u32,
}

crate::redacted_debug!(SmsWebhook, DevMessage);
