//! [`Timestamp`]: a moment in whole seconds since the Unix epoch, the resolution the server
//! speaks. Every record and state the apps see carries its times as one; under the `uniffi`
//! feature it crosses as uniffi's `SystemTime` (Kotlin `java.time.Instant`, Swift `Date`), while
//! Rust code reads and builds it as plain seconds.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A moment, in whole seconds since 1970-01-01T00:00:00Z.
///
/// Values past 9999-12-31T23:59:59Z (what a broken or hostile server could send) are clamped
/// there, so converting to a platform date never overflows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(u64);

impl Timestamp {
    /// 9999-12-31T23:59:59Z, the latest moment a timestamp holds.
    pub const MAX: Timestamp = Timestamp(253_402_300_799);

    /// The moment `seconds` after the epoch (clamped to [`Timestamp::MAX`]).
    pub const fn from_unix_seconds(seconds: u64) -> Timestamp {
        if seconds > Self::MAX.0 {
            Self::MAX
        } else {
            Timestamp(seconds)
        }
    }

    /// This phone's clock now (the epoch if the clock is set before it).
    pub fn now() -> Timestamp {
        Timestamp::from_system_time(SystemTime::now()).unwrap_or_default()
    }

    /// The whole seconds since the epoch.
    pub const fn unix_seconds(self) -> u64 {
        self.0
    }

    /// A platform time, truncated to the second; `None` before the epoch.
    pub fn from_system_time(time: SystemTime) -> Option<Timestamp> {
        let since = time.duration_since(UNIX_EPOCH).ok()?;
        Some(Timestamp::from_unix_seconds(since.as_secs()))
    }

    pub fn to_system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.0)
    }

    /// The whole seconds from `earlier` to this moment (0 when `earlier` is later).
    pub const fn seconds_since(self, earlier: Timestamp) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl Timestamp {
    /// The moment as people read it, to the minute: `2026-12-01 23:14 UTC` (the civil calendar
    /// from the day count, Howard Hinnant's `civil_from_days`; no time-zone data).
    pub fn to_utc_string(self) -> String {
        let days = (self.0 / 86_400) as i64;
        let rem = self.0 % 86_400;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        format!(
            "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
            rem / 3600,
            (rem % 3600) / 60
        )
    }
}

/// Unix seconds, as logs and the wire write them.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(feature = "uniffi")]
uniffi::custom_type!(Timestamp, SystemTime, {
    lower: |time| time.to_system_time(),
    try_lift: |time| Timestamp::from_system_time(time)
        .ok_or_else(|| uniffi::deps::anyhow::anyhow!("a timestamp is not before 1970-01-01")),
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_round_trip_through_system_time() {
        let at = Timestamp::from_unix_seconds(1_767_225_600);
        assert_eq!(at.unix_seconds(), 1_767_225_600);
        assert_eq!(
            at.to_system_time(),
            UNIX_EPOCH + Duration::from_secs(1_767_225_600)
        );
        assert_eq!(Timestamp::from_system_time(at.to_system_time()), Some(at));
    }

    #[test]
    fn a_platform_time_is_truncated_to_the_second() {
        let time = UNIX_EPOCH + Duration::from_millis(1_767_225_600_999);
        assert_eq!(
            Timestamp::from_system_time(time),
            Some(Timestamp::from_unix_seconds(1_767_225_600))
        );
    }

    #[test]
    fn a_time_before_the_epoch_is_refused() {
        let time = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(Timestamp::from_system_time(time), None);
    }

    #[test]
    fn a_time_past_year_9999_is_clamped() {
        assert_eq!(Timestamp::from_unix_seconds(u64::MAX), Timestamp::MAX);
        assert_eq!(
            Timestamp::from_unix_seconds(u64::MAX).to_system_time(),
            UNIX_EPOCH + Duration::from_secs(253_402_300_799)
        );
    }

    #[test]
    fn seconds_since_never_goes_negative() {
        let earlier = Timestamp::from_unix_seconds(100);
        let later = Timestamp::from_unix_seconds(130);
        assert_eq!(later.seconds_since(earlier), 30);
        assert_eq!(earlier.seconds_since(later), 0);
    }

    #[test]
    fn a_moment_reads_like_a_calendar() {
        let utc = |s| Timestamp::from_unix_seconds(s).to_utc_string();
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_767_225_600), "2026-01-01 00:00 UTC");
        assert_eq!(utc(951_825_600 + 3_723), "2000-02-29 13:02 UTC");
        assert_eq!(utc(1_796_216_645), "2026-12-02 13:04 UTC");
        assert_eq!(Timestamp::MAX.to_utc_string(), "9999-12-31 23:59 UTC");
    }
}
