//! `{"type":"anonymous"}`: a registration nobody vouches for yet, usable at once with its
//! pre-claim scopes, claimable by a human through its claim token.

use std::sync::Arc;
use std::time::Duration;

use shared::jose::SigningKey;
use shared::scope::ScopeSet;
use shared::secrets::{SecretHasher, random_token};

use super::{Registration, RegistrationId, RegistrationType};
use crate::assertion::Assertions;
use crate::error::IdentityError;
use crate::store::RegistrationStore;

/// Hash context of claim tokens, so their hashes never verify as another secret's.
pub const CLAIM_TOKEN_CONTEXT: &str = "claim_token";

/// The registration rules an operator configures.
#[derive(Debug, Clone)]
pub struct RegistrationPolicy {
    pub anonymous_enabled: bool,
    pub claim_window: Duration,
    pub retention_after_expiry: Duration,
    pub pre_claim_scopes: ScopeSet,
    pub post_claim_scopes: ScopeSet,
}

/// What the agent receives once; the claim token exists nowhere else in clear.
#[derive(Debug)]
pub struct AnonymousRegistration {
    pub registration: Registration,
    /// `<registration id>.<256-bit secret>`: the id locates the record, the secret proves
    /// possession and is stored only as a keyed hash.
    pub claim_token: String,
    pub identity_assertion: String,
    pub assertion_expires_at: i64,
}

pub async fn register_anonymous(
    policy: &RegistrationPolicy,
    store: &Arc<dyn RegistrationStore>,
    assertions: &Assertions,
    signer: &SigningKey,
    hasher: &SecretHasher,
    now: i64,
) -> Result<AnonymousRegistration, IdentityError> {
    if !policy.anonymous_enabled {
        return Err(IdentityError::AnonymousNotEnabled);
    }
    let id = RegistrationId::random();
    let secret = random_token(32);
    let claim_expires_at = now + policy.claim_window.as_secs() as i64;
    let registration = Registration {
        client_id: id.to_string(),
        id,
        registration_type: RegistrationType::Anonymous,
        created_at: now,
        claim_expires_at,
        claim_token_hash: Some(hasher.hash(CLAIM_TOKEN_CONTEXT, &secret)),
        pre_claim_scopes: policy.pre_claim_scopes.clone(),
        post_claim_scopes: policy.post_claim_scopes.clone(),
        claim_attempt_expires_at: None,
        claimed_at: None,
        revoked_at: None,
    };
    let (identity_assertion, assertion_expires_at) = assertions
        .mint(signer, &registration, now)
        .map_err(|e| IdentityError::Internal(e.to_string()))?;
    // Abandoned anonymous registrations must not pile up in Redis forever.
    let drop_at = claim_expires_at + policy.retention_after_expiry.as_secs() as i64;
    store.create(&registration, Some(drop_at)).await?;
    tracing::info!(
        audit = "registration_created",
        registration_id = %registration.id,
        registration_type = "anonymous",
        "registration created"
    );
    tracing::info!(audit = "assertion_issued", registration_id = %registration.id, "identity assertion issued");
    Ok(AnonymousRegistration {
        claim_token: format!("{}.{secret}", registration.id),
        registration,
        identity_assertion,
        assertion_expires_at,
    })
}
