//! Everything a request handler (HTTP or gRPC) of identity-service reads, built once.

use std::sync::Arc;

use shared::jose::unix_now;

use shared::jose::watch::KeyRingWatch;
use shared::scope::ScopeSet;
use shared::secrets::SecretHasher;

use crate::assertion::Assertions;
use crate::claim::ClaimSettings;
use crate::error::IdentityError;
use crate::http::resource_metadata::ProtectedResource;
use crate::mail::Mailer;
use crate::providers::ProviderKeys;
use crate::ratelimit::{self, Decision, Limit, RateLimiter};
use crate::registration::RegistrationPolicy;
use crate::settings::RateLimitSettings;
use crate::store::{DelegationStore, RegistrationStore, ReplayCache, UserDirectory};

#[derive(Debug)]
pub struct AppState {
    /// Public base URL and `iss` of every token.
    pub issuer: String,
    pub scopes_supported: ScopeSet,
    pub policy: RegistrationPolicy,
    pub assertions: Assertions,
    pub store: Arc<dyn RegistrationStore>,
    pub delegations: Arc<dyn DelegationStore>,
    pub users: Arc<dyn UserDirectory>,
    pub replay: Arc<dyn ReplayCache>,
    pub keys: KeyRingWatch,
    pub hasher: SecretHasher,
    pub claim: ClaimSettings,
    pub mailer: Arc<dyn Mailer>,
    pub limiter: Arc<dyn RateLimiter>,
    pub limits: RateLimitSettings,
    pub providers: ProviderKeys,
    pub protected_resources: Vec<ProtectedResource>,
}

impl AppState {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// One hit on `bucket`; `rate_limited` past `limit` (fails open if Redis is down).
    pub async fn enforce_limit(&self, bucket: &str, limit: Limit) -> Result<(), IdentityError> {
        match ratelimit::allow(self.limiter.as_ref(), bucket, limit).await {
            Decision::Allowed => Ok(()),
            Decision::Limited { retry_after } => {
                tracing::info!(bucket, "rate limited");
                Err(IdentityError::RateLimited { retry_after })
            }
        }
    }

    /// Seconds since the epoch, for handlers.
    pub fn now(&self) -> i64 {
        unix_now()
    }
}
