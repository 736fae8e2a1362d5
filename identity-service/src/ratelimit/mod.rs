//! Sliding-window rate limits shared by every replica (Redis), or per process (memory).
//! If the store is down the limiter fails open and logs: a Redis outage must not turn
//! into refusing every agent. Both pass the contract suite in `tests/ratelimit`.

mod memory;
mod redis;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use shared::settings::{StoreBackend, StoreSettings};
use shared::store::StoreError;

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

pub fn from_settings(settings: &StoreSettings) -> Result<Arc<dyn RateLimiter>, StoreError> {
    Ok(match settings.backend {
        StoreBackend::Memory => Arc::new(MemoryRateLimiter::default()),
        StoreBackend::Redis => Arc::new(RedisRateLimiter::connect(settings)?),
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
