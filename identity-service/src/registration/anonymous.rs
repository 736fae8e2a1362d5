//! `{"type":"anonymous"}`: a registration nobody vouches for yet, usable at once with its
//! pre-claim scopes, claimable by a human through its claim token.

use std::time::Duration;

use shared::scope::ScopeSet;
use shared::secrets::random_token;

use super::{Registration, RegistrationType};
use crate::claim::SecretHandle;
use crate::error::IdentityError;
use crate::state::AppState;

/// Hash context of claim tokens, so their hashes never verify as another secret's.
pub const CLAIM_TOKEN_CONTEXT: &str = "claim_token";

/// The registration rules an operator configures.
#[derive(Debug, Clone)]
pub struct RegistrationPolicy {
    pub anonymous_enabled: bool,
    pub verified_email_enabled: bool,
    pub id_jag_enabled: bool,
    pub claim_window: Duration,
    pub retention_after_expiry: Duration,
    pub pre_claim_scopes: ScopeSet,
    pub post_claim_scopes: ScopeSet,
    /// Registrations must prove a DPoP key, which their assertions are bound to.
    pub require_dpop: bool,
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

/// `binding`: the DPoP key the request proved, which its assertions are bound to.
pub async fn register_anonymous(
    state: &AppState,
    now: i64,
    binding: Option<String>,
) -> Result<AnonymousRegistration, IdentityError> {
    let policy = &state.policy;
    if !policy.anonymous_enabled {
        return Err(IdentityError::PathNotEnabled("anonymous_not_enabled"));
    }
    let secret = random_token(32);
    let scopes = (policy.pre_claim_scopes.clone(), policy.post_claim_scopes.clone());
    let mut registration = Registration::new(
        RegistrationType::Anonymous,
        now,
        policy.claim_window,
        scopes,
        state.hasher.hash(CLAIM_TOKEN_CONTEXT, &secret),
    );
    registration.jkt = binding;
    // Signed before storing, so a missing key leaves nothing behind.
    let (identity_assertion, assertion_expires_at) = state.mint_assertion(&registration, now)?;
    state.create_registration(&registration).await?;
    Ok(AnonymousRegistration {
        claim_token: SecretHandle::new(&registration.id, &secret).to_string(),
        registration,
        identity_assertion,
        assertion_expires_at,
    })
}
