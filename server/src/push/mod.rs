//! Number-matching push: the in-memory notifier that wakes long-polls the moment something
//! changes, number picking, the short user-agent shown on the phone, and the protocol errors of a
//! push. `wake` wakes devices through the configured [`PushSender`]: a webhook, or FCM (`fcm`)
//! and APNs (`apns`) by platform, with their signed credentials (`jwt`).

use authcore_protocol::ErrorCode;
use std::future::Future;
use std::time::Duration;

use authcore_protocol::devices::{Challenge, ChallengeContext, ChallengeMode};
use authcore_protocol::signin::{Next, PushStep};
use axum::http::StatusCode;
use tokio::sync::Notify;

use crate::config::NumberMode;
use crate::error::{ApiError, ApiResult};
use crate::store::{NumberPicker, PushRequest};
use crate::AppState;

mod apns;
mod fcm;
mod jwt;
mod wake;

pub use wake::{deliver, sender_of, PushSender, Wake};

const SHARDS: usize = 1024;

/// Wakes waiters keyed by user (devices long-polling for challenges), by push request (sign-ins
/// waiting for the answer) and by enrollment (screens waiting for the device to activate).
///
/// A fixed array of [`Notify`] shards: nothing to clean up, and a key sharing a shard only causes
/// a spurious wake-up (the waiter re-reads its state and waits again).
pub struct Hub {
    shards: Box<[Notify]>,
}

#[derive(Clone, Copy)]
enum Key {
    User = 1,
    Request = 2,
    Enrollment = 3,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            shards: (0..SHARDS).map(|_| Notify::new()).collect(),
        }
    }
}

impl Hub {
    fn shard(&self, key: Key, id: i64) -> &Notify {
        let mixed = (id as u64 ^ ((key as u64) << 60)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        &self.shards[(mixed >> 54) as usize % SHARDS]
    }

    pub fn user(&self, user_id: i64) -> &Notify {
        self.shard(Key::User, user_id)
    }

    pub fn request(&self, request_id: i64) -> &Notify {
        self.shard(Key::Request, request_id)
    }

    pub fn enrollment(&self, enrollment_id: i64) -> &Notify {
        self.shard(Key::Enrollment, enrollment_id)
    }
}

/// Loads a state with `load` until `settled` says it changed or `wait` has passed, sleeping on
/// `notify` in between (registered before each load, so no wake-up is lost).
pub async fn wait_until<T, Fut>(
    notify: &Notify,
    wait: Duration,
    mut load: impl FnMut() -> Fut,
    settled: impl Fn(&T) -> bool,
) -> ApiResult<T>
where
    Fut: Future<Output = ApiResult<T>>,
{
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let value = load().await?;
        if settled(&value) || tokio::time::Instant::now() >= deadline {
            return Ok(value);
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return Ok(value);
        }
    }
}

/// The `wait` parameter of a long-poll, capped by config (0 when absent or not a number).
pub fn wait_param(app: &AppState, raw: Option<&str>) -> ApiResult<Duration> {
    let Some(raw) = raw else {
        return Ok(Duration::ZERO);
    };
    let seconds: u64 = raw
        .trim()
        .parse()
        .map_err(|_| ApiError::invalid_request("`wait` must be a whole number of seconds"))?;
    Ok(Duration::from_secs(seconds.min(app.config.push.max_wait_s)))
}

/// How long a waiter may sleep for `request`: never past its expiry.
pub fn wait_for_request(app: &AppState, request: &PushRequest, wait: Duration) -> Duration {
    let left = request.expires_at.saturating_sub(app.clock.now());
    wait.min(Duration::from_secs(left))
}

fn random_below(n: u32) -> u32 {
    // Rejection sampling keeps every value equally likely.
    let zone = u32::MAX - (u32::MAX % n);
    loop {
        let bytes = crate::secrets::random_bytes(4);
        let v = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        if v < zone {
            return v % n;
        }
    }
}

/// A number of `length` digits without a leading zero (`10`..`99` for two digits), none of
/// `avoid` when there is one left.
fn random_number(length: u32, avoid: &[String]) -> String {
    let low = 10u32.pow(length - 1);
    let span = 9 * low;
    let start = random_below(span);
    (0..span)
        .map(|i| (low + (start + i) % span).to_string())
        .find(|n| !avoid.contains(n))
        .unwrap_or_else(|| (low + start).to_string())
}

/// Picks the number to match (avoiding the user's other pending numbers) and, in `choose` mode,
/// three distinct candidates in random order.
pub fn number_picker(length: u32, mode: NumberMode) -> NumberPicker {
    Box::new(move |avoid: &[String]| {
        let number = random_number(length, avoid);
        let choices = (mode == NumberMode::Choose).then(|| {
            let mut choices = vec![number.clone()];
            while choices.len() < 3 {
                let other = random_number(length, &choices);
                choices.push(other);
            }
            let right = random_below(3) as usize;
            choices.swap(0, right);
            choices
        });
        (number, choices)
    })
}

/// A short description of a user agent for the phone: "Chrome on macOS", "AcmeApp/1.0".
pub fn describe_user_agent(ua: &str) -> String {
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| *name);
    let os = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Macintosh", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| *name);
    let description = match (browser, os) {
        (Some(b), Some(o)) => format!("{b} on {o}"),
        (Some(b), None) => b.to_owned(),
        _ => ua.split_whitespace().next().unwrap_or("").to_owned(),
    };
    let description: String = description
        .chars()
        .filter(|c| !c.is_control())
        .take(40)
        .collect();
    if description.is_empty() {
        "an unknown app".into()
    } else {
        description
    }
}

/// `next` of a sign-in waiting for a push approval.
pub fn push_next(app: &AppState, request: &PushRequest) -> Next {
    Next::Push(PushStep {
        request_id: request.id.to_string(),
        number: request.number.clone(),
        expires_at: request.expires_at,
        interval: app.config.push.poll_interval_s,
    })
}

/// The phone's view of a request (never the number in `enter` mode).
pub fn challenge(request: &PushRequest) -> Challenge {
    Challenge {
        request_id: request.id.to_string(),
        kind: request.kind.clone(),
        mode: if request.choices.is_some() {
            ChallengeMode::Choose
        } else {
            ChallengeMode::Enter
        },
        number_length: u32::try_from(request.number.len()).ok(),
        choices: request.choices.clone(),
        context: ChallengeContext {
            app: Some(request.app_name.clone()),
            ip: Some(request.ip.clone()),
            user_agent: Some(request.user_agent.clone()),
            location: request.location.clone(),
            time: Some(request.created_at),
        },
        created_at: Some(request.created_at),
        expires_at: request.expires_at,
    }
}

pub fn number_mismatch() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        ErrorCode::NumberMismatch,
        "the number entered on the phone did not match the one shown; the request was denied",
    )
}

pub fn access_denied(fraud: bool) -> ApiError {
    if fraud {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::AccessDenied,
            "the request was reported as fraud on the phone",
        )
        .reason("fraud_reported")
    } else {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::AccessDenied,
            "the request was denied on the phone",
        )
        .reason("denied")
    }
}

pub fn push_blocked(retry_after: u64) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::PushBlocked,
        "a push request to this account was reported as fraud; pushes are blocked for a while",
    )
    .retry_after(retry_after)
}

pub fn push_expired() -> ApiError {
    ApiError::expired("the push request expired before it was answered; ask for a new one")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_the_policy_length_and_avoid_pending_ones() {
        for length in 2..=6 {
            let (number, choices) = number_picker(length, NumberMode::Enter)(&[]);
            assert_eq!(number.len(), length as usize);
            assert!(!number.starts_with('0'));
            assert!(choices.is_none());
        }
        let avoid: Vec<String> = (10..99).map(|n| n.to_string()).collect();
        let (number, _) = number_picker(2, NumberMode::Enter)(&avoid);
        assert_eq!(number, "99");
        let (number, choices) = number_picker(2, NumberMode::Choose)(&[]);
        let choices = choices.unwrap();
        assert_eq!(choices.len(), 3);
        assert!(choices.contains(&number));
        assert!(choices[0] != choices[1] && choices[1] != choices[2] && choices[0] != choices[2]);
    }

    #[test]
    fn user_agents_are_described_briefly() {
        assert_eq!(
            describe_user_agent("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"),
            "Chrome on macOS"
        );
        assert_eq!(describe_user_agent("AcmeApp/1.0 (build 7)"), "AcmeApp/1.0");
        assert_eq!(describe_user_agent(""), "an unknown app");
    }
}
