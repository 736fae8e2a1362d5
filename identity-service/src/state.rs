//! Everything a request handler (HTTP or gRPC) of identity-service reads, built once.

use std::sync::Arc;

use shared::audit::Actor;
use shared::jose::unix_now;

use shared::jose::dpop::DpopVerifier;
use shared::jose::watch::KeyRingWatch;
use shared::oauth::{ProtectedResource, TokenEndpointSettings};
use shared::scope::ScopeSet;
use shared::secrets::SecretHasher;

use crate::assertion::Assertions;
use crate::claim::ClaimSettings;
use crate::error::IdentityError;
use crate::mail::Mailer;
use crate::providers::ProviderKeys;
use crate::ratelimit::{self, Decision, Limit, RateLimiter};
use crate::registration::{Registration, RegistrationPolicy};
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
    /// token-service's token endpoint capabilities, as discovery describes them.
    pub token_endpoint: TokenEndpointSettings,
    /// Checks the DPoP proof a registration may carry; `None` when DPoP is disabled.
    pub dpop: Option<DpopVerifier>,
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
                // The limit's name, never the bucket's id part (a registration, an IP).
                let limit = bucket.split(':').next().unwrap_or("unknown").to_owned();
                metrics::counter!(shared::telemetry::metrics::RATE_LIMIT_REJECTIONS, "limit" => limit).increment(1);
                Err(IdentityError::RateLimited { retry_after })
            }
        }
    }

    /// Signs an identity assertion for `registration` with the current key.
    pub fn mint_assertion(&self, registration: &Registration, now: i64) -> Result<(String, i64), IdentityError> {
        let signer = self
            .keys
            .borrow()
            .signer_at(now)
            .cloned()
            .ok_or(IdentityError::KeysUnavailable)?;
        let minted = self
            .assertions
            .mint(&signer, registration, now)
            .map_err(|e| IdentityError::Internal(e.to_string()))?;
        let id = registration.id.as_str();
        shared::audit::record("assertion_issued", Actor::Registration(id), id, "success");
        Ok(minted)
    }

    /// Stores a new registration (forgotten some time after its claim window unless
    /// claimed) and records the audit event.
    pub async fn create_registration(&self, registration: &Registration) -> Result<(), IdentityError> {
        let drop_at = registration.drop_at(self.policy.retention_after_expiry);
        self.store.create(registration, drop_at).await?;
        let actor = match &registration.delegation {
            Some(delegation) => Actor::Provider(&delegation.iss),
            None => Actor::Anonymous,
        };
        shared::audit::record("registration_created", actor, registration.id.as_str(), "success");
        Ok(())
    }

    /// Seconds since the epoch, for handlers.
    pub fn now(&self) -> i64 {
        unix_now()
    }
}
