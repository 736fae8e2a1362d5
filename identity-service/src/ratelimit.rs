//! identity-service's rate limits: which it counts, and how a refusal becomes an
//! [`IdentityError`]. The limiter itself is [`shared::ratelimit`].

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

use crate::error::IdentityError;

pub use shared::ratelimit::*;

/// Sliding-window limits, shared by every replica through Redis.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RateLimitSettings {
    /// Removed: `client_address.trusted_proxy_hops` replaced it. Kept only so a
    /// deployment that still sets it fails at start instead of silently counting every
    /// client under the ingress's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_forwarded_for: Option<bool>,
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
            trust_forwarded_for: None,
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
        match refusal(self.limiter.as_ref(), bucket, limit).await {
            None => Ok(()),
            Some(retry_after) => Err(IdentityError::RateLimited { retry_after }),
        }
    }
}
