//! Requests-per-minute and tokens-per-minute limits as two token buckets that refill continuously.
//!
//! A request reserves its estimated tokens (prompt estimate plus `max_tokens`) before it is sent and
//! gives back what it did not use once the server has counted, so that the limit holds without
//! knowing the answer's length beforehand.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Both limits; 0 means none.
#[derive(Debug)]
pub struct RateLimiter {
    requests: Option<Mutex<Bucket>>,
    tokens: Option<Mutex<Bucket>>,
}

#[derive(Debug)]
struct Bucket {
    capacity: f64,
    per_second: f64,
    level: f64,
    at: Instant,
}

impl Bucket {
    fn new(per_minute: u32) -> Option<Mutex<Self>> {
        (per_minute > 0).then(|| {
            let capacity = f64::from(per_minute);
            // Start full: the first minute may use the whole allowance, as the providers count it.
            Mutex::new(Bucket {
                capacity,
                per_second: capacity / 60.0,
                level: capacity,
                at: Instant::now(),
            })
        })
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.level = (self.level + elapsed * self.per_second).min(self.capacity);
        self.at = now;
    }

    /// Takes `n` now, or says how long until it can. A request larger than the bucket waits for a
    /// full bucket and takes all of it.
    fn try_take(&mut self, n: f64, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        let n = n.min(self.capacity);
        if self.level >= n {
            self.level -= n;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((n - self.level) / self.per_second))
        }
    }
}

fn lock(m: &Mutex<Bucket>) -> std::sync::MutexGuard<'_, Bucket> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl RateLimiter {
    /// Limits of `requests_per_minute` and `tokens_per_minute` (0: unlimited).
    pub fn new(requests_per_minute: u32, tokens_per_minute: u32) -> Self {
        Self {
            requests: Bucket::new(requests_per_minute),
            tokens: Bucket::new(tokens_per_minute),
        }
    }

    /// Waits until one request of `tokens` estimated tokens may go.
    pub async fn acquire(&self, tokens: u32) {
        if let Some(bucket) = &self.requests {
            loop {
                let wait = lock(bucket).try_take(1.0, Instant::now());
                match wait {
                    Ok(()) => break,
                    Err(d) => tokio::time::sleep(d.max(Duration::from_millis(1))).await,
                }
            }
        }
        if let Some(bucket) = &self.tokens {
            loop {
                let wait = lock(bucket).try_take(f64::from(tokens), Instant::now());
                match wait {
                    Ok(()) => break,
                    Err(d) => tokio::time::sleep(d.max(Duration::from_millis(1))).await,
                }
            }
        }
    }

    /// Settles a request that reserved `reserved` tokens and used `used`: what was over-reserved goes
    /// back, what was under-reserved is taken (the level may go below zero, delaying the next).
    pub fn settle(&self, reserved: u32, used: u32) {
        if let Some(bucket) = &self.tokens {
            let mut b = lock(bucket);
            b.refill(Instant::now());
            b.level = (b.level + f64::from(reserved) - f64::from(used)).min(b.capacity);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_waits_in_proportion_to_what_is_missing() {
        let start = Instant::now();
        let mut b = Bucket {
            capacity: 60.0,
            per_second: 1.0,
            level: 2.0,
            at: start,
        };
        assert!(b.try_take(1.0, start).is_ok());
        assert!(b.try_take(1.0, start).is_ok());
        let wait = b.try_take(1.0, start).unwrap_err();
        assert!((wait.as_secs_f64() - 1.0).abs() < 1e-9, "{wait:?}");
        assert!(b.try_take(1.0, start + Duration::from_secs(1)).is_ok());
        // Larger than the bucket: waits for it to be full, then takes all of it.
        let wait = b
            .try_take(100.0, start + Duration::from_secs(1))
            .unwrap_err();
        assert!((wait.as_secs_f64() - 60.0).abs() < 1e-9, "{wait:?}");
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn requests_per_minute_hold() {
        let limiter = RateLimiter::new(120, 0);
        let start = tokio::time::Instant::now();
        for _ in 0..130 {
            limiter.acquire(10).await;
        }
        // 120 at once, then two a second.
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(4900) && took <= Duration::from_millis(5200),
            "{took:?}"
        );
    }

    #[test]
    fn unused_tokens_come_back() {
        let limiter = RateLimiter::new(0, 1000);
        let bucket = limiter.tokens.as_ref().unwrap();
        assert!(lock(bucket).try_take(900.0, Instant::now()).is_ok());
        limiter.settle(900, 100);
        assert!(lock(bucket).level > 899.0);
    }
}
