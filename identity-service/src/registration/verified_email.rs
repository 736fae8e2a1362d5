//! `{"type":"identity_assertion","assertion_type":"verified_email","assertion":"<email>"}`:
//! the agent names its human up front. The registration starts pending, the claim link is
//! mailed at once, and no token is issued until the human completes the claim.

use shared::scope::ScopeSet;

use super::{CLAIM_TOKEN_CONTEXT, Registration, RegistrationType};
use crate::claim::{SecretHandle, new_attempt};
use crate::email::Email;
use crate::error::IdentityError;
use crate::state::AppState;

#[derive(Debug)]
pub struct EmailRegistration {
    pub registration: Registration,
    pub claim_token: String,
}

pub async fn register_verified_email(
    state: &AppState,
    email: Email,
    now: i64,
    binding: Option<String>,
) -> Result<EmailRegistration, IdentityError> {
    let policy = &state.policy;
    if !policy.verified_email_enabled {
        return Err(IdentityError::PathNotEnabled("verified_email_not_enabled"));
    }
    let scopes = (ScopeSet::default(), policy.post_claim_scopes.clone());
    let mut registration = Registration::new(
        RegistrationType::EmailVerification,
        now,
        policy.claim_window,
        scopes,
        String::new(),
    );
    registration.jkt = binding;
    let claim = SecretHandle::generate(&registration.id);
    registration.claim_token_hash = Some(claim.hash(&state.hasher, CLAIM_TOKEN_CONTEXT));
    let (attempt, view) = new_attempt(state, &registration.id, email, now);
    registration.claim_attempt = Some(attempt.clone());
    state.create_registration(&registration).await?;
    crate::claim::send_link(state, &attempt, &view, &registration.id).await?;
    let registration_id = registration.id.as_str();
    shared::audit::record(
        "claim_started",
        shared::audit::Actor::Registration(registration_id),
        registration_id,
        "success",
    );
    Ok(EmailRegistration {
        registration,
        claim_token: claim.to_string(),
    })
}
