//! When to try a failed request again, and how long to wait first: exponential backoff with full
//! jitter (so that 32 requests rate-limited together do not come back together), never shorter than
//! what the server asked for in `Retry-After`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::CallError;

/// How failed requests are retried.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Requests per passage in all, the first included.
    pub max_attempts: u32,
    /// The backoff before the first retry; it doubles with each.
    pub base_delay: Duration,
    /// The longest backoff.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Whether to try again after `error` on attempt `attempt` (from 1).
    pub fn should_retry(&self, error: &CallError, attempt: u32) -> bool {
        error.is_retryable() && attempt < self.max_attempts
    }

    /// How long to wait before attempt `attempt + 1`: a random share of the exponential backoff, but
    /// at least the server's `Retry-After`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.max_delay);
        let jittered = exp.mul_f64(fastrand::f64());
        match retry_after {
            // A little jitter on top, so that everyone told "1 second" does not return at once.
            Some(server) => server + jittered.min(server / 4 + Duration::from_millis(50)),
            None => jittered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CallErrorKind;

    #[test]
    fn retries_what_may_work_and_stops_in_time() {
        let p = RetryPolicy::default();
        let limited = CallError::new(CallErrorKind::Status(429), "slow down");
        assert!(p.should_retry(&limited, 1));
        assert!(!p.should_retry(&limited, 6));
        assert!(p.should_retry(&CallError::new(CallErrorKind::Status(503), ""), 1));
        assert!(p.should_retry(&CallError::new(CallErrorKind::Connection, ""), 1));
        assert!(!p.should_retry(&CallError::new(CallErrorKind::Status(400), ""), 1));
        assert!(!p.should_retry(&CallError::new(CallErrorKind::Status(401), ""), 1));
    }

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        for _ in 0..100 {
            assert!(p.delay(1, None) <= Duration::from_millis(100));
            assert!(p.delay(3, None) <= Duration::from_millis(400));
            assert!(p.delay(9, None) <= Duration::from_secs(1));
            let d = p.delay(1, Some(Duration::from_secs(2)));
            assert!(
                d >= Duration::from_secs(2) && d <= Duration::from_millis(2600),
                "{d:?}"
            );
        }
    }
}
