//! Waking devices for a new request, off the request path: [`deliver`] picks the devices, the
//! configured [`PushSender`] reaches them (a webhook, or FCM and APNs by the device's platform),
//! a token the push service no longer knows is cleared, and "later" answers are retried with
//! exponential backoff. A failed send is logged (never a token or a key) and never fails the
//! sign-in: the phone can still long-poll.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use authcore_protocol::devices::Wake as WakeIds;

use super::apns::Apns;
use super::fcm::Fcm;
use crate::config::PushSenderConfig;
use crate::store::PushTarget;
use crate::{AppState, Clock};

/// The request a device is woken for.
#[derive(Debug, Clone, Copy)]
pub struct Wake {
    pub request_id: i64,
    /// Unix seconds; nothing is sent or retried past it.
    pub expires_at: u64,
}

impl Wake {
    /// The two ids every sender carries (no number, no secret).
    pub(super) fn ids(&self, target: &PushTarget) -> WakeIds {
        WakeIds {
            device_id: target.device_id.clone(),
            request_id: self.request_id.to_string(),
        }
    }
}

/// Why a device was not woken. The texts carry no token, key or user data.
#[derive(Debug, PartialEq, Eq)]
pub enum WakeError {
    /// Nothing to send it through (no push token, no service for its platform): it long-polls.
    NoRoute(&'static str),
    /// The push service no longer knows the device's token (its error code).
    StaleToken(String),
    Failed(String),
}

/// Wakes one device about one request. Implementations carry no secret in what they send: the
/// device fetches the request itself over TLS.
#[async_trait::async_trait]
pub trait PushSender: Send + Sync {
    async fn wake(&self, target: &PushTarget, wake: Wake) -> Result<(), WakeError>;
}

/// Wakes a user's devices for a new request: the long-polls at once, then the configured
/// sender (in the background, each device on its own; the sign-in never waits for it).
/// `device_id` limits it to one device (a test approval).
pub fn deliver(app: &AppState, user_id: i64, wake: Wake, device_id: Option<String>) {
    app.hub.user(user_id).notify_waiters();
    let Some(sender) = app.push_sender.clone() else {
        return;
    };
    let app = app.clone();
    tokio::spawn(async move {
        let targets = match app.store.push_targets(user_id, device_id.as_deref()).await {
            Ok(targets) => targets,
            Err(error) => {
                tracing::warn!(%error, "cannot list devices to wake");
                return;
            }
        };
        for target in targets {
            tokio::spawn(wake_one(app.clone(), sender.clone(), target, wake));
        }
    });
}

async fn wake_one(app: AppState, sender: Arc<dyn PushSender>, target: PushTarget, wake: Wake) {
    let platform = target.platform.as_str();
    match sender.wake(&target, wake).await {
        Ok(()) => tracing::debug!(platform, "device woken"),
        Err(WakeError::NoRoute(why)) => {
            tracing::debug!(platform, why, "device not woken; it long-polls");
        }
        Err(WakeError::StaleToken(reason)) => {
            let Some(token) = &target.push_token else {
                return;
            };
            match app
                .store
                .clear_push_token(&target.device_id, token.expose())
                .await
            {
                Ok(true) => tracing::info!(
                    platform,
                    reason,
                    "push token cleared: the push service no longer knows it"
                ),
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, "cannot clear a stale push token"),
            }
        }
        Err(WakeError::Failed(error)) => tracing::warn!(platform, error, "push sender failed"),
    }
}

/// The sender a config names; `None` for `type = "none"` (devices long-poll). Key files are
/// read and checked here, at start-up.
pub fn sender_of(
    config: &PushSenderConfig,
    clock: &Clock,
) -> Result<Option<Arc<dyn PushSender>>, String> {
    match config {
        PushSenderConfig::None => Ok(None),
        PushSenderConfig::Webhook { url, bearer_token } => Ok(Some(Arc::new(WebhookSender {
            client: super::jwt::http_client(false, None)?,
            url: url.clone(),
            bearer: bearer_token.clone(),
        }))),
        PushSenderConfig::Platform {
            fcm,
            apns,
            max_attempts,
            retry_delay_ms,
        } => Ok(Some(Arc::new(PlatformSender {
            fcm: fcm
                .as_ref()
                .map(|c| Fcm::load(c, clock.clone()))
                .transpose()?,
            apns: apns
                .as_ref()
                .map(|c| Apns::load(c, clock.clone()))
                .transpose()?,
            retry: Retry {
                max_attempts: *max_attempts,
                first_delay: Duration::from_millis(*retry_delay_ms),
            },
            clock: clock.clone(),
        }))),
    }
}

/// `POST {"device_id", "request_id"}` to a configured URL, for every device.
struct WebhookSender {
    client: reqwest::Client,
    url: String,
    bearer: Option<crate::secrets::SecretString>,
}

#[async_trait::async_trait]
impl PushSender for WebhookSender {
    async fn wake(&self, target: &PushTarget, wake: Wake) -> Result<(), WakeError> {
        let mut request = self.client.post(&self.url).json(&wake.ids(target));
        if let Some(token) = &self.bearer {
            request = request.bearer_auth(token.expose());
        }
        let response = request
            .send()
            .await
            .map_err(|_| WakeError::Failed("push webhook unreachable".to_owned()))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(WakeError::Failed(format!(
                "push webhook answered {}",
                response.status()
            )))
        }
    }
}

/// FCM for `android` devices, APNs for `ios` ones, each with its retries.
struct PlatformSender {
    fcm: Option<Fcm>,
    apns: Option<Apns>,
    retry: Retry,
    clock: Clock,
}

#[async_trait::async_trait]
impl PushSender for PlatformSender {
    async fn wake(&self, target: &PushTarget, wake: Wake) -> Result<(), WakeError> {
        let Some(token) = &target.push_token else {
            return Err(WakeError::NoRoute("the device has no push token"));
        };
        let token = token.expose();
        match target.platform.as_str() {
            "android" => {
                let Some(fcm) = &self.fcm else {
                    return Err(WakeError::NoRoute(
                        "no [push_sender.fcm] for android devices",
                    ));
                };
                self.retry
                    .run(&self.clock, wake, || fcm.send(token, target, wake))
                    .await
            }
            "ios" => {
                let Some(apns) = &self.apns else {
                    return Err(WakeError::NoRoute("no [push_sender.apns] for ios devices"));
                };
                self.retry
                    .run(&self.clock, wake, || apns.send(token, target, wake))
                    .await
            }
            _ => Err(WakeError::NoRoute(
                "no push service for the device's platform",
            )),
        }
    }
}

/// What one attempt at a push service came to.
#[derive(Debug)]
pub(super) enum Attempt {
    Delivered,
    /// The service no longer knows the token (its error code): clear it.
    StaleToken(String),
    /// Try again after `retry_after` (the service's `Retry-After`) or the backoff.
    Later {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// The service refused the credential, which the sender dropped: one more try with a new one.
    Reauthorize(String),
    Failed(String),
}

/// The longest wait between two attempts, whatever `Retry-After` says.
const MAX_DELAY: Duration = Duration::from_secs(60);

/// Retries of "later" answers: at most `max_attempts` in all, waiting `first_delay`, then twice
/// as long each time (plus up to a quarter of jitter), or the service's `Retry-After`; never
/// past the request's expiry. A refused credential is renewed once, not counted as an attempt.
struct Retry {
    max_attempts: u32,
    first_delay: Duration,
}

impl Retry {
    async fn run<F, Fut>(&self, clock: &Clock, wake: Wake, mut attempt: F) -> Result<(), WakeError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Attempt>,
    {
        if wake.expires_at <= clock.now() {
            return Err(WakeError::NoRoute("the request expired"));
        }
        let mut attempts = 0;
        let mut reauthorized = false;
        loop {
            attempts += 1;
            let (reason, retry_after) = match attempt().await {
                Attempt::Delivered => return Ok(()),
                Attempt::StaleToken(code) => return Err(WakeError::StaleToken(code)),
                Attempt::Failed(reason) => return Err(WakeError::Failed(reason)),
                Attempt::Reauthorize(reason) if !reauthorized => {
                    reauthorized = true;
                    attempts -= 1;
                    tracing::debug!(reason, "credential refused; trying once with a new one");
                    continue;
                }
                Attempt::Reauthorize(reason) => {
                    return Err(WakeError::Failed(format!(
                        "{reason}, also with a new credential"
                    )))
                }
                Attempt::Later {
                    reason,
                    retry_after,
                } => (reason, retry_after),
            };
            if attempts >= self.max_attempts {
                return Err(WakeError::Failed(format!(
                    "{reason}; gave up after {attempts} attempts"
                )));
            }
            let delay = retry_after
                .unwrap_or_else(|| self.backoff(attempts))
                .min(MAX_DELAY);
            if clock.now() + delay.as_secs() >= wake.expires_at {
                return Err(WakeError::Failed(format!(
                    "{reason}; the request expires before the next attempt"
                )));
            }
            tracing::debug!(reason, attempts, "push service answered later; retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// The wait after the `attempts`-th attempt: `first_delay * 2^(attempts-1)` plus jitter.
    fn backoff(&self, attempts: u32) -> Duration {
        let base = self
            .first_delay
            .saturating_mul(1 << attempts.saturating_sub(1).min(16));
        let quarter = u32::try_from(base.as_millis() / 4).unwrap_or(u32::MAX);
        let jitter = if quarter == 0 {
            0
        } else {
            super::random_below(quarter)
        };
        base + Duration::from_millis(u64::from(jitter))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn later() -> Attempt {
        Attempt::Later {
            reason: "FCM answered 503 UNAVAILABLE".into(),
            retry_after: None,
        }
    }

    fn retry(max_attempts: u32) -> Retry {
        Retry {
            max_attempts,
            first_delay: Duration::from_millis(1),
        }
    }

    fn wake(clock: &Clock) -> Wake {
        Wake {
            request_id: 7,
            expires_at: clock.now() + 120,
        }
    }

    /// Runs `retry` over the scripted answers; the outcome and the attempts made.
    async fn run(
        retry: &Retry,
        wake: Wake,
        clock: &Clock,
        answers: Vec<Attempt>,
    ) -> (Result<(), WakeError>, usize) {
        let answers = std::sync::Mutex::new(answers.into_iter());
        let made = std::sync::atomic::AtomicUsize::new(0);
        let outcome = retry
            .run(clock, wake, || {
                made.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let next = answers.lock().unwrap().next().unwrap_or(Attempt::Delivered);
                async move { next }
            })
            .await;
        (outcome, made.into_inner())
    }

    #[tokio::test]
    async fn later_answers_are_retried_up_to_the_attempt_limit() {
        let clock = Clock::default();
        let (outcome, made) = run(&retry(4), wake(&clock), &clock, vec![later(), later()]).await;
        assert_eq!((outcome, made), (Ok(()), 3));
        let (outcome, made) = run(
            &retry(3),
            wake(&clock),
            &clock,
            vec![later(), later(), later()],
        )
        .await;
        assert_eq!(
            outcome,
            Err(WakeError::Failed(
                "FCM answered 503 UNAVAILABLE; gave up after 3 attempts".into()
            ))
        );
        assert_eq!(made, 3);
    }

    #[tokio::test]
    async fn a_refused_credential_is_renewed_once() {
        let clock = Clock::default();
        let refused = || Attempt::Reauthorize("FCM answered 401 UNAUTHENTICATED".into());
        let (outcome, made) = run(&retry(1), wake(&clock), &clock, vec![refused()]).await;
        assert_eq!((outcome, made), (Ok(()), 2));
        let (outcome, made) =
            run(&retry(4), wake(&clock), &clock, vec![refused(), refused()]).await;
        assert_eq!(
            outcome,
            Err(WakeError::Failed(
                "FCM answered 401 UNAUTHENTICATED, also with a new credential".into()
            ))
        );
        assert_eq!(made, 2);
    }

    #[tokio::test]
    async fn nothing_is_retried_past_the_request_expiry() {
        let clock = Clock::default();
        let soon = Wake {
            request_id: 7,
            expires_at: clock.now() + 30,
        };
        let late = Attempt::Later {
            reason: "APNs answered 429 TooManyRequests".into(),
            retry_after: Some(Duration::from_secs(45)),
        };
        let (outcome, made) = run(&retry(4), soon, &clock, vec![late]).await;
        assert_eq!(
            outcome,
            Err(WakeError::Failed(
                "APNs answered 429 TooManyRequests; the request expires before the next attempt"
                    .into()
            ))
        );
        assert_eq!(made, 1);
        let expired = Wake {
            request_id: 7,
            expires_at: clock.now(),
        };
        let (outcome, made) = run(&retry(4), expired, &clock, vec![]).await;
        assert_eq!(
            (outcome, made),
            (Err(WakeError::NoRoute("the request expired")), 0)
        );
    }

    #[test]
    fn the_backoff_doubles_with_a_little_jitter() {
        let retry = Retry {
            max_attempts: 4,
            first_delay: Duration::from_millis(1000),
        };
        for (attempts, base) in [(1, 1000), (2, 2000), (3, 4000)] {
            let delay = retry.backoff(attempts).as_millis();
            assert!((base..base + base / 4).contains(&delay), "{delay}");
        }
    }
}
