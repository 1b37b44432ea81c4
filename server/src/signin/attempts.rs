//! Failed-attempt accounting: an attempt is reserved for the address and the account before a
//! credential is checked ([`reserve_attempt`]) and settled right or wrong afterwards
//! ([`Reservation`]); the account locks after too many wrong ones.

use super::Flow;
use crate::error::{ApiError, ApiResult};
use crate::store::{Attempt, FailureState};
use crate::AppState;

impl Flow<'_> {
    /// Counts one attempt of `caller.ip` before a credential is checked (in memory, under the
    /// throttle's mutex); `slow_down` without checking anything when the address is at its limit.
    pub(super) fn reserve_ip_attempt(&self) -> ApiResult<()> {
        self.app
            .throttle
            .reserve(&self.caller.ip, self.now)
            .map_err(|retry_after| {
                ApiError::address_throttled(retry_after, &self.app.config.throttle)
            })
    }

    /// The credential was right (or never checked): the address gets its attempt back.
    pub(super) fn give_back_ip_attempt(&self) {
        self.app.throttle.give_back(&self.caller.ip, self.now);
    }

    /// Reserves one attempt before a password or second factor is checked (see
    /// [`reserve_attempt`]); answers `locked` (recorded in the history) when the account is.
    pub(super) async fn reserve_attempt(&self) -> ApiResult<Reservation> {
        match reserve_attempt(self.app, &self.caller.ip, self.failure_key(), self.now).await? {
            Ok(reservation) => Ok(reservation),
            Err(until) => {
                self.event("sign_in", "locked").await?;
                Err(ApiError::locked(until.saturating_sub(self.now)))
            }
        }
    }

    /// A wrong credential: its reserved attempt stays counted; the answer is `locked` when it
    /// was the last one allowed.
    pub(super) async fn reject_attempt(
        &self,
        reservation: Reservation,
        what: &str,
        result: &str,
    ) -> ApiResult<ApiError> {
        let state = reservation.wrong(self.app).await?;
        self.event("sign_in", result).await?;
        let max = self.app.config.lockout.max_failures;
        Ok(match state.locked_until {
            Some(until) => ApiError::locked(until.saturating_sub(self.now)),
            None => ApiError::wrong_credential(what, max.saturating_sub(state.failures)),
        })
    }
}

/// One attempt reserved for an address and an account before a credential is checked; settle
/// it with [`Reservation::right`] or [`Reservation::wrong`]. Dropped unsettled (a cancelled
/// request), it stays counted as a failure.
#[must_use]
pub(crate) struct Reservation {
    ip: String,
    key: String,
    now: u64,
}

/// How long a request waits for the account's attempts in flight to be settled before it is
/// told to try again.
const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Reserves one attempt for `ip` (in memory) and for the account `key` (in the store, one write
/// transaction) *before* a credential is checked, so parallel requests get no extra checks.
/// At the address's limit: `slow_down`. Locked: `Err(until)`, nothing is checked. When every
/// attempt left is being checked by other requests, this one waits (up to [`BUSY_WAIT`]) for
/// them to settle: a burst of right answers all gets through, a burst of wrong ones gets
/// `max_failures` checks and then `locked`.
pub(crate) async fn reserve_attempt(
    app: &AppState,
    ip: &str,
    key: String,
    now: u64,
) -> ApiResult<Result<Reservation, u64>> {
    let lockout = &app.config.lockout;
    let deadline = tokio::time::Instant::now() + BUSY_WAIT;
    loop {
        app.throttle.reserve(ip, now).map_err(|retry_after| {
            ApiError::address_throttled(retry_after, &app.config.throttle)
        })?;
        let settled = app.throttle.settled(&key).notified();
        tokio::pin!(settled);
        settled.as_mut().enable();
        let attempt = app
            .store
            .reserve_attempt(&key, now, lockout.max_failures, lockout.lock_s)
            .await;
        match attempt {
            Ok(Attempt::Reserved(_)) => {
                return Ok(Ok(Reservation {
                    ip: ip.to_owned(),
                    key,
                    now,
                }))
            }
            Ok(Attempt::Locked { until }) => {
                app.throttle.give_back(ip, now);
                return Ok(Err(until));
            }
            Ok(Attempt::Busy) => {
                app.throttle.give_back(ip, now);
                if tokio::time::Instant::now() >= deadline {
                    return Err(ApiError::slow_down(
                        1,
                        "other attempts for this account are being checked; try again",
                    ));
                }
                // Woken when one settles; the timeout covers other server instances.
                let _ = tokio::time::timeout(std::time::Duration::from_millis(100), settled).await;
            }
            Err(error) => {
                app.throttle.give_back(ip, now);
                return Err(error.into());
            }
        }
    }
}

impl Reservation {
    /// The credential was right: the address gets its attempt back and the account's run ends.
    pub(crate) async fn right(self, app: &AppState) -> ApiResult<()> {
        self.give_back_ip(app);
        let cleared = app.store.clear_password_failures(&self.key).await;
        app.throttle.settled(&self.key).notify_waiters();
        Ok(cleared?)
    }

    /// The credential was wrong: the attempt stays counted (and locks the account when it was
    /// the last one). Returns the run as it now stands.
    pub(crate) async fn wrong(self, app: &AppState) -> ApiResult<FailureState> {
        let lockout = &app.config.lockout;
        let state = app
            .store
            .settle_wrong_attempt(&self.key, self.now, lockout.max_failures, lockout.lock_s)
            .await;
        app.throttle.settled(&self.key).notify_waiters();
        Ok(state?)
    }

    /// Nothing was checked after all (the code had died): the address gets its attempt back;
    /// the account's stays counted (settle it with [`Reservation::wrong`]).
    pub(crate) fn give_back_ip(&self, app: &AppState) {
        app.throttle.give_back(&self.ip, self.now);
    }
}
