//! Registrations that begin with the claim ceremony: the agent names its human up front
//! (`verified_email`), or a provider's ID-JAG names a human we already know (step-up).
//! Either way the registration starts pending and no token is issued until the human
//! completes the claim. The link is mailed before the registration is stored.

use super::ClaimCeremony;
use super::link::audit_claim_started;
use crate::email::Email;
use crate::error::IdentityError;
use crate::providers::IdJag;
use crate::registration::{
    CLAIM_TOKEN_CONTEXT, Delegated, DelegatedRegistration, PendingDelegation, Registration, RegistrationPath,
    RegistrationType, SecretHandle,
};

#[derive(Debug)]
pub struct EmailRegistration {
    pub registration: Registration,
    pub claim_token: String,
}

/// What an ID-JAG registration came to.
#[derive(Debug)]
pub enum IdJagOutcome {
    /// The delegation is known or new: the agent has its assertion.
    Registered(Box<DelegatedRegistration>),
    /// The provider named a human we already know, who must confirm this agent first.
    StepUpRequired(ClaimBlock),
}

/// What an agent needs to have its human confirm it. `claim_token` is a secret: it is
/// shown to the agent once and exists nowhere else in clear.
#[derive(Debug, Clone)]
pub struct ClaimBlock {
    pub registration_id: String,
    pub claim_url: String,
    pub claim_token: String,
    pub claim_token_expires_at: i64,
}

impl ClaimCeremony {
    /// `binding`: the DPoP key the request proved, which its assertions are bound to.
    pub async fn register_verified_email(
        &self,
        email: Email,
        now: i64,
        binding: Option<String>,
    ) -> Result<EmailRegistration, IdentityError> {
        let policy = self.registrations.policy();
        policy.ensure_enabled(RegistrationPath::VerifiedEmail)?;
        let scopes = (protocol::scope::ScopeSet::default(), policy.post_claim_scopes.clone());
        let mut registration = Registration::new(
            RegistrationType::EmailVerification,
            now,
            policy.claim_window,
            scopes,
            String::new(),
        );
        registration.jkt = binding;
        let claim = self.begin(&mut registration, email, now).await?;
        Ok(EmailRegistration {
            registration,
            claim_token: claim.to_string(),
        })
    }

    /// An ID-JAG (already verified and seen once) registers its agent, or starts the
    /// step-up that its human must confirm.
    pub async fn register_id_jag(
        &self,
        id_jag: IdJag,
        now: i64,
        binding: Option<String>,
    ) -> Result<IdJagOutcome, IdentityError> {
        match self.registrations.register_delegated(id_jag, now, binding).await? {
            Delegated::Issued(registered) => Ok(IdJagOutcome::Registered(Box::new(registered))),
            Delegated::NeedsConfirmation(pending) => self.step_up(pending, now).await.map(IdJagOutcome::StepUpRequired),
        }
    }

    /// The human already has an account: a pending registration and a mailed claim link.
    async fn step_up(&self, pending: PendingDelegation, now: i64) -> Result<ClaimBlock, IdentityError> {
        let PendingDelegation {
            mut registration,
            email,
        } = pending;
        let claim = self.begin(&mut registration, email, now).await?;
        Ok(ClaimBlock {
            registration_id: registration.id.to_string(),
            claim_url: self.url("/agent/identity/claim"),
            claim_token: claim.to_string(),
            claim_token_expires_at: registration.claim_expires_at,
        })
    }

    /// Gives `registration` a claim token and an attempt for `email`, mails the link, and
    /// only then stores the registration; returns the claim token.
    async fn begin(
        &self,
        registration: &mut Registration,
        email: Email,
        now: i64,
    ) -> Result<SecretHandle, IdentityError> {
        let claim = SecretHandle::generate(&registration.id);
        registration.claim_token_hash = Some(claim.hash(&self.hasher, CLAIM_TOKEN_CONTEXT));
        let new = self.new_attempt(&registration.id, email, now);
        registration.claim_attempt = Some(new.attempt.clone());
        self.send_link(&new, &registration.id).await?;
        self.registrations.create(registration).await?;
        audit_claim_started(&registration.id);
        Ok(claim)
    }
}
