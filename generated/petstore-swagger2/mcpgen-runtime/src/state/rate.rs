//! Per-caller rate limits kept in this process: one replica's table, and every replica's
//! fallback when the shared store cannot be reached.
//!
//! Owns the token bucket of each caller subject (capacity and refill of `calls_per_minute`,
//! so a caller may burst up to a minute's allowance, then one call per `60 / n` seconds).
//! Zero means unlimited. Bucket memory is bounded: when the table reaches [`MAX_TRACKED`]
//! callers, refilled buckets (idle callers) are dropped, then the eighth closest to full:
//! callers with allowance left go before limited ones, which are forgotten only when nearly
//! every tracked caller is limited.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::support::bounded::make_room;

/// Callers tracked before idle ones are forgotten.
pub const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// The tokens the bucket holds at `now`, refilled at `per_sec` up to `capacity`.
    fn tokens_at(&self, now: Instant, per_sec: f64, capacity: f64) -> f64 {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        (self.tokens + elapsed * per_sec).min(capacity)
    }
}

/// Calls per minute per caller.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// A limiter allowing `per_minute` calls per caller (0: unlimited).
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute,
            buckets: Mutex::default(),
        }
    }

    /// Calls per minute per caller (0: unlimited).
    pub fn per_minute(&self) -> u32 {
        self.per_minute
    }

    /// Takes one call from `subject`'s allowance at `now`; `Err` holds how long until the next
    /// call is allowed.
    pub fn check(&self, subject: &str, now: Instant) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_sec = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        // A forgotten caller starts again with a full allowance, so the callers to forget are
        // those whose bucket has refilled, then those closest to full (ranked by the calls they
        // would gain, in millionths of a call).
        make_room(
            &mut buckets,
            subject,
            MAX_TRACKED,
            |b| b.tokens_at(now, per_sec, capacity) >= capacity,
            |b| ((capacity - b.tokens_at(now, per_sec, capacity)) * 1e6) as u64,
        );
        let bucket = buckets.entry(subject.to_owned()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        bucket.tokens = bucket.tokens_at(now, per_sec, capacity);
        bucket.at = now.max(bucket.at);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_sec))
        }
    }
}
