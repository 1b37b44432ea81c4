//! Security events: every change of a user's security information (a device bound or removed,
//! TOTP added, replaced or removed, backup codes regenerated, the password changed or reset,
//! factors suspended by a reset or confirmed) is recorded (`GET /v1/me/security-events`, also in
//! the sign-in history) and notified by email through the outbox. Neither carries a secret.

use authcore_protocol::account::{SecurityEvent as EventView, SecurityEvents};
use axum::extract::State;
use axum::Json;

use crate::error::ApiResult;
use crate::extract::{Bearer, Caller};
use crate::secrets::SecretString;
use crate::store::{Noted, OutboxMessage, SecurityEvent, User};
use crate::tokens::session_of;
use crate::AppState;

/// A change to record: its kind, a short detail for the history, and the mail's subject and
/// first sentence ("A new authenticator 'Dave's Pixel' was added to your account").
pub(crate) struct Change {
    pub kind: &'static str,
    pub detail: String,
    pub subject: String,
    pub what: String,
}

/// Where the change came from: the IP and the short user agent ("Chrome on macOS",
/// "AcmeApp/1.0") of the request that made it, and the factors of the session behind it.
pub(crate) struct Origin<'a> {
    pub ip: &'a str,
    pub user_agent: String,
    pub factors: &'a [String],
}

impl<'a> Origin<'a> {
    pub fn of(caller: &'a Caller, factors: &'a [String]) -> Origin<'a> {
        Origin {
            ip: &caller.ip,
            user_agent: crate::push::describe_user_agent(&caller.user_agent),
            factors,
        }
    }
}

/// `2026-12-01 23:14 UTC`
pub(crate) fn utc_time(unix: u64) -> String {
    authcore::Timestamp::from_unix_seconds(unix).to_utc_string()
}

fn mail_body(change: &Change, origin: &Origin<'_>, at: u64, note: &str) -> String {
    let agent = if origin.user_agent.is_empty() {
        "an unknown app"
    } else {
        origin.user_agent.as_str()
    };
    format!(
        "{} on {} from {} ({agent}).\n\n{note}If this wasn't you, reset your password now, then review the devices and sign-in methods in your account's security settings and remove what you don't recognise.",
        change.what,
        utc_time(at),
        origin.ip,
    )
}

/// The event and mail recording `change`, for a store method that writes them in the same
/// transaction as the change; call [`told`] once it committed.
pub(crate) fn note(app: &AppState, user: &User, origin: Origin<'_>, change: Change) -> Noted {
    note_with(app, user, origin, change, Some(""))
}

/// [`note`], with `extra` (a paragraph ending in a blank line) added to the mail before its
/// advice; `None`: no mail (another one already tells).
pub(crate) fn note_with(
    app: &AppState,
    user: &User,
    origin: Origin<'_>,
    change: Change,
    extra: Option<&str>,
) -> Noted {
    let at = app.clock.now();
    let mail = extra.map(|extra| OutboxMessage {
        channel: "email".into(),
        recipient: user.email.clone(),
        subject: change.subject.clone(),
        body: SecretString::new(mail_body(&change, &origin, at, extra)),
    });
    Noted {
        event: SecurityEvent {
            user_id: user.id,
            at,
            kind: change.kind.into(),
            detail: change.detail,
            factors: origin.factors.to_vec(),
            ip: origin.ip.into(),
            user_agent: origin.user_agent,
        },
        mail,
    }
}

/// After a change and its [`note`] committed: wakes the outbox and logs the kind.
pub(crate) fn told(app: &AppState, kind: &str) {
    app.outbox.notify_one();
    tracing::info!(kind, "security event");
}

/// `GET /v1/me/security-events` (Bearer): newest first, at most 100.
pub async fn security_events(
    State(app): State<AppState>,
    bearer: Bearer,
) -> ApiResult<Json<SecurityEvents>> {
    let session = session_of(&app, &bearer).await?;
    let events = app.store.security_events(session.user_id, 100).await?;
    Ok(Json(SecurityEvents {
        events: events
            .into_iter()
            .map(|e| EventView {
                at: e.at,
                kind: e.kind,
                detail: e.detail,
                ip: e.ip,
                user_agent: e.user_agent,
            })
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_times_read_like_a_calendar() {
        assert_eq!(super::utc_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::utc_time(1_767_225_600), "2026-01-01 00:00 UTC");
        assert_eq!(super::utc_time(951_825_600 + 3_723), "2000-02-29 13:02 UTC");
    }
}
