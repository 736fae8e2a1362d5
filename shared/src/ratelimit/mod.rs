//! Sliding-window rate limits shared by every replica (Redis), or per process (memory).
//! If the store is down the limiter fails open and logs: a Redis outage must not turn
//! into refusing every agent. Both pass the contract suite in identity-service's
//! `tests/ratelimit`. Each service names its limits and maps a refusal to its own error.

mod memory;
mod redis;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::settings::{StoreBackend, StoreSettings};
use crate::store::StoreError;

pub use self::memory::MemoryRateLimiter;
pub use self::redis::RedisRateLimiter;

/// At most `max` hits per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limit {
    pub max: u32,
    #[serde(with = "humantime_serde")]
    pub window: Duration,
}

impl Limit {
    /// `max = 0` is how an operator turns a limit off; a zero window never holds a hit.
    pub fn is_disabled(&self) -> bool {
        self.max == 0 || self.window.is_zero()
    }
}

/// Where a limiter reads the time. Production uses the system's (for Redis, the Redis
/// server's own `TIME`, so replicas with skewed clocks agree); tests drive a manual clock
/// instead of sleeping through windows.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    #[default]
    System,
    Manual(ManualClock),
}

/// A clock that moves only when told to, from an arbitrary start.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<std::sync::atomic::AtomicU64>);

impl ManualClock {
    /// Milliseconds since the clock's start.
    pub fn now_ms(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.0.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Refused; the oldest hit in the window leaves it after `retry_after`.
    Limited {
        retry_after: Duration,
    },
}

#[async_trait::async_trait]
pub trait RateLimiter: Send + Sync + std::fmt::Debug {
    /// Records a hit on `bucket` unless that would exceed `limit`. A refused hit is not
    /// recorded, so a client that waits `retry_after` gets through. A disabled limit
    /// always allows and touches no store.
    async fn hit(&self, bucket: &str, limit: Limit) -> Result<Decision, StoreError>;
}

/// The limiter `settings` describe, counting under `owner`'s keys (the service's name);
/// a Redis limiter shares the process's connection.
pub fn from_settings(
    settings: &StoreSettings,
    connections: &crate::store::Connections,
    owner: &str,
) -> Result<Arc<dyn RateLimiter>, StoreError> {
    Ok(match settings.backend {
        StoreBackend::Redis => Arc::new(RedisRateLimiter::new(connections.redis(settings)?, settings, owner)),
        StoreBackend::Memory => Arc::new(MemoryRateLimiter::default()),
    })
}

/// [`RateLimiter::hit`], failing open: an unavailable store allows the hit.
pub async fn allow(limiter: &dyn RateLimiter, bucket: &str, limit: Limit) -> Decision {
    if limit.is_disabled() {
        return Decision::Allowed;
    }
    match limiter.hit(bucket, limit).await {
        Ok(decision) => decision,
        Err(error) => {
            tracing::warn!(bucket, %error, "rate limiter unavailable, failing open");
            Decision::Allowed
        }
    }
}

/// One hit on `bucket` (failing open); when refused, how long until a retry may pass.
/// A refusal is logged and counted under the limit's name: `bucket` up to its first
/// `:`, never the id part after it (a registration, an address).
pub async fn refusal(limiter: &dyn RateLimiter, bucket: &str, limit: Limit) -> Option<Duration> {
    match allow(limiter, bucket, limit).await {
        Decision::Allowed => None,
        Decision::Limited { retry_after } => {
            tracing::info!(bucket, "rate limited");
            let name = bucket.split(':').next().unwrap_or("unknown").to_owned();
            metrics::counter!(crate::telemetry::metrics::RATE_LIMIT_REJECTIONS, "limit" => name).increment(1);
            Some(retry_after)
        }
    }
}
