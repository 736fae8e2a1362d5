use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::Clock;

use crate::store::StoreError;

use super::{Decision, Limit, RateLimiter};

/// Below this many buckets a sweep is not worth its cost.
const MIN_SWEEP_AT: usize = 1024;

/// A sliding-window log per bucket, for one process only: replicas do not share it.
#[derive(Debug)]
pub struct MemoryRateLimiter {
    buckets: Mutex<Buckets>,
    clock: Clock,
    /// Hit times are offsets from here (system clock) or the manual clock's reading.
    origin: Instant,
}

impl Default for MemoryRateLimiter {
    fn default() -> Self {
        Self::with_clock(Clock::System)
    }
}

#[derive(Debug, Default)]
struct Buckets {
    by_name: HashMap<String, Bucket>,
    /// Sweep when this many buckets exist: doubling keeps sweeps amortized O(1) per hit
    /// while buckets never hit again are still forgotten.
    sweep_at: usize,
}

#[derive(Debug)]
struct Bucket {
    /// The window of the latest hit, so a sweep knows when the newest hit has left it.
    window: Duration,
    /// Oldest first; never longer than the largest `max` used on this bucket.
    hits: VecDeque<Duration>,
}

impl Bucket {
    fn prune(&mut self, now: Duration) {
        while self.hits.front().is_some_and(|&t| now.saturating_sub(t) >= self.window) {
            self.hits.pop_front();
        }
    }
}

impl Buckets {
    fn sweep_if_due(&mut self, now: Duration) {
        if self.by_name.len() < self.sweep_at.max(MIN_SWEEP_AT) {
            return;
        }
        self.by_name.retain(|_, bucket| {
            bucket.prune(now);
            !bucket.hits.is_empty()
        });
        self.sweep_at = self.by_name.len() * 2;
    }
}

impl MemoryRateLimiter {
    pub fn with_clock(clock: Clock) -> Self {
        Self {
            buckets: Mutex::default(),
            clock,
            origin: Instant::now(),
        }
    }

    fn now(&self) -> Duration {
        match &self.clock {
            Clock::System => self.origin.elapsed(),
            Clock::Manual(clock) => Duration::from_millis(clock.now_ms()),
        }
    }

    fn buckets(&self) -> MutexGuard<'_, Buckets> {
        self.buckets.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn hit(&self, bucket: &str, limit: Limit) -> Result<Decision, StoreError> {
        if limit.is_disabled() {
            return Ok(Decision::Allowed);
        }
        let now = self.now();
        let mut buckets = self.buckets();
        buckets.sweep_if_due(now);
        let bucket = buckets.by_name.entry(bucket.to_owned()).or_insert_with(|| Bucket {
            window: limit.window,
            hits: VecDeque::new(),
        });
        bucket.window = limit.window;
        bucket.prune(now);
        let max = usize::try_from(limit.max).unwrap_or(usize::MAX);
        if bucket.hits.len() < max {
            bucket.hits.push_back(now);
            return Ok(Decision::Allowed);
        }
        // A lowered `max` can leave more than `max` hits: the next one gets through once
        // all but `max - 1` of them have left the window.
        let leaving = bucket.hits[bucket.hits.len() - max];
        Ok(Decision::Limited {
            retry_after: limit.window.saturating_sub(now.saturating_sub(leaving)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn buckets_whose_hits_all_left_the_window_are_forgotten() {
        let clock = super::super::ManualClock::default();
        let limiter = MemoryRateLimiter::with_clock(Clock::Manual(clock.clone()));
        let short = Limit {
            max: 1,
            window: Duration::from_millis(1),
        };
        for i in 0..MIN_SWEEP_AT {
            limiter
                .hit(&format!("old-{i}"), short)
                .await
                .expect("memory never fails");
        }
        clock.advance(Duration::from_millis(2));
        let long = Limit {
            max: 1,
            window: Duration::from_secs(60),
        };
        limiter.hit("new", long).await.expect("memory never fails");
        let buckets = limiter.buckets();
        assert_eq!(buckets.by_name.len(), 1, "only the live bucket is kept");
        assert!(buckets.by_name.contains_key("new"));
    }
}
