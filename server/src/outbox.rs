//! Message delivery. Codes are queued in the `outbox` table in the same transaction that creates
//! them; this worker delivers them: email through SMTP (lettre), text messages and voice calls
//! through a JSON webhook (`channel` says which).
//! Bodies are sealed at rest (AES-256-GCM under the server key) and opened only here and by
//! `GET /dev/outbox`. With `--dev` messages stay readable there; otherwise a message is deleted
//! once delivered, or once older than `codes.ttl_s` (its code is dead).

use std::time::Duration;

use authcore_protocol::delivery::{DevMessage, DevOutbox, SmsWebhook};
use authcore_protocol::signin::Channel;
use axum::extract::{Query, State};
use axum::Json;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;

use crate::config::{SmsWebhookConfig, SmtpConfig, SmtpSecurity};
use crate::error::ApiResult;
use crate::store::OutboxRecord;
use crate::AppState;

enum Sent {
    Delivered,
    /// No sender is configured for this channel.
    NoSender,
}

struct Senders {
    smtp: Option<(AsyncSmtpTransport<Tokio1Executor>, String)>,
    sms: Option<(reqwest::Client, SmsWebhookConfig)>,
}

fn smtp_transport(config: &SmtpConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let builder = match config.security {
        SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host),
        SmtpSecurity::Starttls => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                .map_err(|e| e.to_string())?
        }
        SmtpSecurity::Tls => {
            AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host).map_err(|e| e.to_string())?
        }
    };
    let mut builder = builder
        .port(config.port)
        .timeout(Some(Duration::from_secs(15)));
    if let (Some(user), Some(password)) = (&config.username, &config.password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
    }
    Ok(builder.build())
}

impl Senders {
    fn new(app: &AppState) -> Senders {
        let smtp = app
            .config
            .smtp
            .as_ref()
            .and_then(|c| match smtp_transport(c) {
                Ok(t) => Some((t, c.from.clone())),
                Err(error) => {
                    tracing::warn!(%error, "SMTP sender not usable");
                    None
                }
            });
        let sms = app.config.sms_webhook.as_ref().and_then(|c| {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .ok()
                .map(|client| (client, c.clone()))
        });
        Senders { smtp, sms }
    }

    async fn send(&self, message: &OutboxRecord) -> Result<Sent, String> {
        match message.channel.as_str() {
            "email" => {
                let Some((transport, from)) = &self.smtp else {
                    return Ok(Sent::NoSender);
                };
                let email = Message::builder()
                    .from(from.parse().map_err(|_| "smtp.from is not an address")?)
                    .to(message
                        .recipient
                        .parse()
                        .map_err(|_| "recipient is not an address")?)
                    .subject(message.subject.clone())
                    .header(ContentType::TEXT_PLAIN)
                    .body(message.body.expose().to_owned())
                    .map_err(|_| "cannot build the message")?;
                transport.send(email).await.map_err(|e| {
                    format!(
                        "smtp: {}",
                        e.status()
                            .map_or_else(|| "connection failed".to_owned(), |c| c.to_string())
                    )
                })?;
                Ok(Sent::Delivered)
            }
            "sms" | "voice" => {
                let Some((client, config)) = &self.sms else {
                    return Ok(Sent::NoSender);
                };
                let mut request = client.post(&config.url).json(&SmsWebhook {
                    channel: if message.channel == "voice" {
                        Channel::Voice
                    } else {
                        Channel::Sms
                    },
                    to: message.recipient.clone(),
                    body: message.body.expose().to_owned(),
                });
                if let Some(token) = &config.bearer_token {
                    request = request.bearer_auth(token.expose());
                }
                let response = request
                    .send()
                    .await
                    .map_err(|_| "sms webhook unreachable".to_owned())?;
                if response.status().is_success() {
                    Ok(Sent::Delivered)
                } else {
                    Err(format!("sms webhook answered {}", response.status()))
                }
            }
            _ => Err("unknown channel".into()),
        }
    }
}

/// Delivers queued messages until the task is aborted.
pub(crate) async fn deliver_forever(app: AppState) {
    let senders = Senders::new(&app);
    loop {
        if !app.dev {
            // A message older than a code's lifetime carries a dead code: it goes, sent or not.
            let before = app.clock.now().saturating_sub(app.config.codes.ttl_s);
            if let Err(error) = app.store.expire_messages(before).await {
                tracing::warn!(%error, "outbox: cannot expire messages");
            }
        }
        let batch = match app.store.pending_messages(50).await {
            Ok(batch) => batch,
            Err(error) => {
                tracing::warn!(%error, "outbox: cannot read");
                Vec::new()
            }
        };
        let mut failed = false;
        // Messages dev mode only records (/dev/outbox is their delivery): marked all at once.
        let mut recorded = Vec::new();
        for message in &batch {
            let result = match senders.send(message).await {
                Ok(Sent::Delivered) => {
                    app.store
                        .mark_messages_sent(&[message.id], app.clock.now(), app.dev)
                        .await
                }
                Ok(Sent::NoSender) if app.dev => {
                    recorded.push(message.id);
                    Ok(())
                }
                Ok(Sent::NoSender) => {
                    tracing::warn!(channel = %message.channel, id = message.id, "outbox: no sender configured for channel");
                    failed = true;
                    app.store.mark_message_failed(message.id).await
                }
                Err(error) => {
                    tracing::warn!(%error, id = message.id, "outbox: delivery failed");
                    failed = true;
                    app.store.mark_message_failed(message.id).await
                }
            };
            if let Err(error) = result {
                tracing::warn!(%error, "outbox: cannot record delivery");
            }
        }
        if let Err(error) = app
            .store
            .mark_messages_sent(&recorded, app.clock.now(), true)
            .await
        {
            tracing::warn!(%error, "outbox: cannot record delivery");
        }
        if batch.is_empty() || failed {
            // Wait for new mail, or retry failures a little later.
            let wait = if failed {
                Duration::from_secs(2)
            } else {
                Duration::from_secs(5)
            };
            let _ = tokio::time::timeout(wait, app.outbox.notified()).await;
        }
    }
}

#[derive(Deserialize)]
pub struct OutboxQuery {
    to: Option<String>,
}

/// `GET /dev/outbox[?to=recipient]` (only with `--dev`): the newest 200 recorded messages,
/// oldest first.
pub async fn dev_outbox(
    State(app): State<AppState>,
    Query(query): Query<OutboxQuery>,
) -> ApiResult<Json<DevOutbox>> {
    let messages: Vec<DevMessage> = app
        .store
        .messages(query.to.as_deref(), 200)
        .await?
        .into_iter()
        .map(|m| DevMessage {
            id: m.id,
            body: m.body.expose().to_owned(),
            channel: m.channel,
            to: m.recipient,
            subject: m.subject,
            created_at: m.created_at,
            sent_at: m.sent_at,
            attempts: m.attempts,
        })
        .collect();
    Ok(Json(DevOutbox { messages }))
}
