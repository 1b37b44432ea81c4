//! Per-IP throttling of failed credentials (wrong passwords, codes, TOTP and backup codes), kept
//! in memory: a restart forgives, the per-account lockout in the store does not.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::config::ThrottleConfig;

pub struct Throttle {
    max: usize,
    window_s: u64,
    failures: Mutex<HashMap<String, VecDeque<u64>>>,
}

impl Throttle {
    pub fn new(config: &ThrottleConfig) -> Self {
        Throttle {
            max: config.max_failures_per_ip as usize,
            window_s: config.window_s,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Seconds until `ip` may try again, when it is over its limit.
    pub fn retry_after(&self, ip: &str, now: u64) -> Option<u64> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let times = map.get_mut(ip)?;
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

    pub fn record_failure(&self, ip: &str, now: u64) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            // Bound memory under a spray of addresses: forget the oldest picture.
            map.clear();
        }
        let times = map.entry(ip.to_owned()).or_default();
        times.push_back(now);
        while times.len() > self.max.max(1) * 2 {
            times.pop_front();
        }
    }
}
