//! A keyed rate limiter (token bucket per key, e.g. per client address) with a bounded table:
//! when full it forgets idle keys first and, failing that, refuses new keys rather than grow.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const MAX_KEYS: usize = 100_000;

pub struct RateLimiter {
    /// Tokens per minute; 0 = unlimited.
    per_minute: u32,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn per_minute(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// `Ok(())` when allowed, `Err(seconds to wait)` otherwise.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        self.check_at(key, Instant::now())
    }

    pub fn check_at(&self, key: &str, now: Instant) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = self.per_minute as f64;
        let per_sec = capacity / 60.0;
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            // Forget buckets that have refilled completely: they carry no information.
            let full_after = Duration::from_secs_f64(60.0);
            buckets.retain(|_, (_, at)| now.duration_since(*at) < full_after);
            if buckets.len() >= MAX_KEYS {
                return Err(60);
            }
        }
        let (tokens, at) = buckets.entry(key.to_string()).or_insert((capacity, now));
        let elapsed = now.saturating_duration_since(*at).as_secs_f64();
        *tokens = (*tokens + elapsed * per_sec).min(capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / per_sec).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_up_to_the_limit_then_waits() {
        let l = RateLimiter::per_minute(3);
        let t0 = Instant::now();
        assert!(l.check_at("a", t0).is_ok());
        assert!(l.check_at("a", t0).is_ok());
        assert!(l.check_at("a", t0).is_ok());
        let wait = l.check_at("a", t0).unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        assert!(l.check_at("b", t0).is_ok(), "keys are independent");
        assert!(l.check_at("a", t0 + Duration::from_secs(21)).is_ok());
        assert!(RateLimiter::per_minute(0).check("x").is_ok());
    }
}
