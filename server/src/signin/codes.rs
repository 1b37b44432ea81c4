//! One-time codes in a sign-in: sending (and resending) a code for a step, the `next` step that
//! prompts for it, checking the code a request carries, and [`send_code`] within the send limits.

use authcore_protocol::error::LimitOf;
use authcore_protocol::signin::param;
use authcore_protocol::signin::{Channel, CodeStep, Next};

use super::{insufficient, Flow};
use crate::error::{ApiError, ApiResult};
use crate::secrets::{random_digits, SecretString};
use crate::store::{CodeOutcome, IssueCode, IssueOutcome, OutboxMessage};
use crate::AppState;

impl Flow<'_> {
    /// Sends (or resends) a code for `step`, or checks the code the request carries. Returns Ok
    /// only once the code was accepted.
    pub(super) async fn code_step(
        &mut self,
        step: &str,
        purpose: &str,
        channel: &str,
        key: String,
        recipient: Option<String>,
        hint: String,
    ) -> ApiResult<()> {
        let config = &self.app.config.codes;
        let prompted = self.session.step == step && self.session.code_id.is_some();
        if prompted {
            if let Some(code) = self.take(param::CODE) {
                let code_id = self.session.code_id.unwrap_or_default();
                // The address's attempt first; the code's own attempts are counted atomically
                // with the check (`attempt_code`).
                self.reserve_ip_attempt()?;
                return match self.check_code(code_id, &code).await? {
                    CodeOutcome::Accepted => {
                        self.give_back_ip_attempt();
                        self.session.code_id = None;
                        Ok(())
                    }
                    CodeOutcome::Wrong { attempts_left } => {
                        self.event("sign_in", "wrong_code").await?;
                        Err(ApiError::wrong_credential("code", attempts_left))
                    }
                    CodeOutcome::Dead => {
                        self.give_back_ip_attempt();
                        Err(ApiError::expired(
                            "the code expired or has no attempts left; ask for a new one",
                        ))
                    }
                };
            }
        }
        // Asking for the same method again is how a client resends.
        let resend = prompted && self.method_param() == Some(step);
        let last_sent = if prompted {
            self.app.store.last_code_sent_at(&key, purpose).await?
        } else {
            None
        };
        if prompted && !resend {
            // Asked again without a code: repeat the prompt, send nothing.
            let sent = last_sent.unwrap_or(self.now);
            return Err(insufficient(self.code_next(step, channel, &hint, sent)));
        }
        if resend {
            let ready_at = last_sent.unwrap_or(0) + config.resend_after_s;
            if self.now < ready_at {
                return Err(ApiError::limited(
                    ready_at - self.now,
                    "wait before asking for another code",
                    LimitOf::CodeResend,
                    1,
                    config.resend_after_s,
                ));
            }
        }
        let message = |code: &SecretString| {
            recipient.filter(|r| !r.is_empty()).map(|to| OutboxMessage {
                channel: channel.into(),
                recipient: to,
                subject: match purpose {
                    "verify_device" => "Confirm it's you".into(),
                    _ => "Your sign-in code".into(),
                },
                body: SecretString::new(if channel == "voice" {
                    // Read out by the call: the code, then digit by digit.
                    let digits: Vec<String> = code.expose().chars().map(String::from).collect();
                    format!(
                        "Your code is {}. Once more: {}. It expires in {} minutes.",
                        code.expose(),
                        digits.join(", "),
                        config.ttl_s / 60
                    )
                } else {
                    format!(
                        "Your code is {}. It expires in {} minutes. If you did not ask for it, ignore this message.",
                        code.expose(),
                        config.ttl_s / 60
                    )
                }),
            })
        };
        let code_id = send_code(self.app, key, purpose, self.now, message).await?;
        self.session.step = step.into();
        self.session.code_id = Some(code_id);
        Err(insufficient(self.code_next(step, channel, &hint, self.now)))
    }

    fn code_next(&self, step: &str, channel: &str, hint: &str, sent_at: u64) -> Next {
        let config = &self.app.config.codes;
        let code = CodeStep {
            channel: match channel {
                "sms" => Channel::Sms,
                "voice" => Channel::Voice,
                _ => Channel::Email,
            },
            destination_hint: hint.to_owned(),
            length: config.length,
            expires_at: sent_at + config.ttl_s,
            resend_after: (sent_at + config.resend_after_s).saturating_sub(self.now),
        };
        match step {
            // The phone second factors ask for their code as an SMS sign-in does.
            "sms_code" | "sms" | "voice" => Next::SmsCode(code),
            "verify_device" => Next::VerifyDevice(code),
            _ => Next::EmailCode(code),
        }
    }

    async fn check_code(&self, code_id: i64, code: &str) -> ApiResult<CodeOutcome> {
        let candidate: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        let hash = self.app.hasher.hash(&code_id.to_string(), &candidate);
        Ok(self
            .app
            .store
            .attempt_code(code_id, &hash, self.now, self.app.config.codes.max_attempts)
            .await?)
    }
}

/// Issues a fresh code for `key` and `purpose` within the configured send limits, queues the
/// message `message` builds from it (none for unknown identifiers: the answer looks the same) and
/// returns the code's id. Only the code's hash is stored.
pub(crate) async fn send_code(
    app: &AppState,
    key: String,
    purpose: &str,
    now: u64,
    message: impl FnOnce(&SecretString) -> Option<OutboxMessage>,
) -> ApiResult<i64> {
    let config = &app.config.codes;
    let code = random_digits(config.length);
    let message = message(&code);
    let hasher = app.hasher.clone();
    let outcome = app
        .store
        .issue_code(
            IssueCode {
                key,
                purpose: purpose.into(),
                now,
                expires_at: now + config.ttl_s,
                max_sends: config.max_sends,
                send_window_s: config.send_window_s,
            },
            Box::new(move |id| hasher.hash(&id.to_string(), code.expose())),
            message,
        )
        .await?;
    match outcome {
        IssueOutcome::Capped { retry_after } => Err(ApiError::limited(
            retry_after,
            "too many codes were sent; wait before asking for another",
            LimitOf::CodesSent,
            config.max_sends,
            config.send_window_s,
        )),
        IssueOutcome::Issued { code_id } => {
            app.outbox.notify_one();
            Ok(code_id)
        }
    }
}
