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

use crate::error::IdentityError;

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

/// The limiter `settings` describe; a Redis limiter shares the process's connection.
pub fn from_settings(
    settings: &StoreSettings,
    connections: &shared::store::Connections,
) -> Result<Arc<dyn RateLimiter>, StoreError> {
    Ok(match settings.backend {
        StoreBackend::Redis => Arc::new(RedisRateLimiter::new(connections.redis(settings)?, settings)),
        StoreBackend::Memory => Arc::new(MemoryRateLimiter::default()),
    })
}

/// Sliding-window limits, shared by every replica through Redis.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RateLimitSettings {
    /// Use the client address the ingress reports (`Forwarded` / `X-Forwarded-For`)
    /// instead of the peer address. Only behind a proxy that overwrites those headers.
    pub trust_forwarded_for: bool,
    pub anonymous_registrations_per_ip: Limit,
    /// Registrations presenting an assertion (ID-JAG or verified email).
    pub assertion_registrations_per_ip: Limit,
    pub claim_starts_per_registration: Limit,
    pub challenges_per_attempt: Limit,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        let per = |max, secs| Limit {
            max,
            window: Duration::from_secs(secs),
        };
        Self {
            trust_forwarded_for: false,
            anonymous_registrations_per_ip: per(100, 3600),
            assertion_registrations_per_ip: per(100, 3600),
            claim_starts_per_registration: per(10, 3600),
            challenges_per_attempt: per(10, 600),
        }
    }
}

/// The configured limits and the limiter that counts them.
#[derive(Debug, Clone)]
pub struct RateLimits {
    limiter: Arc<dyn RateLimiter>,
    pub settings: RateLimitSettings,
}

impl RateLimits {
    pub fn new(limiter: Arc<dyn RateLimiter>, settings: RateLimitSettings) -> Self {
        Self { limiter, settings }
    }

    /// One hit on `bucket`; `rate_limited` past `limit` (fails open if the store is down).
    pub async fn enforce(&self, bucket: &str, limit: Limit) -> Result<(), IdentityError> {
        match allow(self.limiter.as_ref(), bucket, limit).await {
            Decision::Allowed => Ok(()),
            Decision::Limited { retry_after } => {
                tracing::info!(bucket, "rate limited");
                // The limit's name, never the bucket's id part (a registration, an IP).
                let limit = bucket.split(':').next().unwrap_or("unknown").to_owned();
                metrics::counter!(shared::telemetry::metrics::RATE_LIMIT_REJECTIONS, "limit" => limit).increment(1);
                Err(IdentityError::RateLimited { retry_after })
            }
        }
    }
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
