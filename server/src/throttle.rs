//! Per-IP throttling of failed credentials (wrong passwords, codes, TOTP and backup codes), kept
//! in memory: a restart forgives, the per-account lockout in the store does not.
//!
//! An attempt is reserved before its credential is checked ([`Throttle::reserve`], under the
//! mutex: no two requests see the same free slot), and given back when it was right
//! ([`Throttle::give_back`]): parallel requests from one address never get more checks than
//! the limit. It also wakes the requests that wait for an account's attempts to be settled
//! ([`Throttle::settled`]).

use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use tokio::sync::Notify;

use crate::config::ThrottleConfig;

const SHARDS: usize = 256;

pub struct Throttle {
    max: usize,
    window_s: u64,
    failures: Mutex<HashMap<String, VecDeque<u64>>>,
    settled: Box<[Notify]>,
}

impl Throttle {
    pub fn new(config: &ThrottleConfig) -> Self {
        Throttle {
            max: config.max_failures_per_ip as usize,
            window_s: config.window_s,
            failures: Mutex::new(HashMap::new()),
            settled: (0..SHARDS).map(|_| Notify::new()).collect(),
        }
    }

    /// Notified whenever an attempt of the account `key` is settled (right or wrong). A shard
    /// per key hash: a shared shard only wakes a waiter early (it asks the store again).
    pub fn settled(&self, key: &str) -> &Notify {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut hasher);
        &self.settled[(hasher.finish() % SHARDS as u64) as usize]
    }

    /// Drops the attempts that left the window; returns the seconds until `times` has a free
    /// slot, when it has none.
    fn full(&self, times: &mut VecDeque<u64>, now: u64) -> Option<u64> {
        let cutoff = now.saturating_sub(self.window_s);
        while times.front().is_some_and(|t| *t <= cutoff) {
            times.pop_front();
        }
        if times.len() >= self.max {
            let oldest = times.front().copied().unwrap_or(now);
            Some((oldest + self.window_s).saturating_sub(now).max(1))
        } else {
            None
        }
    }

    /// Seconds until `ip` may try again, when it is over its limit.
    pub fn retry_after(&self, ip: &str, now: u64) -> Option<u64> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let times = map.get_mut(ip)?;
        self.full(times, now)
    }

    /// Counts one attempt from `ip` at `now` before its credential is checked; `Err(retry_after)`
    /// when the address already used every attempt of the window (nothing is counted then).
    pub fn reserve(&self, ip: &str, now: u64) -> Result<(), u64> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 && !map.contains_key(ip) {
            // Bound memory under a spray of addresses: forget the oldest picture.
            map.clear();
        }
        let times = map.entry(ip.to_owned()).or_default();
        if let Some(retry_after) = self.full(times, now) {
            return Err(retry_after);
        }
        times.push_back(now);
        Ok(())
    }

    /// Gives back an attempt reserved at `at` whose credential was right (or never checked).
    pub fn give_back(&self, ip: &str, at: u64) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(times) = map.get_mut(ip) {
            if let Some(index) = times.iter().rposition(|t| *t == at) {
                times.remove(index);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(max: u32) -> Throttle {
        Throttle::new(&ThrottleConfig {
            max_failures_per_ip: max,
            window_s: 60,
        })
    }

    #[test]
    fn reservations_stop_at_the_limit_and_come_back_when_given_back() {
        let t = throttle(3);
        for _ in 0..3 {
            assert_eq!(t.reserve("1.2.3.4", 100), Ok(()));
        }
        assert_eq!(t.reserve("1.2.3.4", 110), Err(50));
        assert_eq!(t.retry_after("1.2.3.4", 110), Some(50));
        assert_eq!(t.reserve("5.6.7.8", 110), Ok(()));
        t.give_back("1.2.3.4", 100);
        assert_eq!(t.retry_after("1.2.3.4", 110), None);
        assert_eq!(t.reserve("1.2.3.4", 110), Ok(()));
        assert_eq!(t.reserve("1.2.3.4", 111), Err(49));
        // The window moves on.
        assert_eq!(t.reserve("1.2.3.4", 161), Ok(()));
    }

    #[test]
    fn parallel_reservations_never_exceed_the_limit() {
        let t = std::sync::Arc::new(throttle(100));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let t = t.clone();
                std::thread::spawn(move || {
                    (0..50).filter(|_| t.reserve("ip", 1000).is_ok()).count()
                })
            })
            .collect();
        let granted: usize = threads.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(granted, 100);
    }
}
