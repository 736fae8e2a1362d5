//! Registrations a trusted provider vouches for with an ID-JAG. A known delegation gets
//! its registration back; a new one is registered claimed at once, unless the verified
//! email already belongs to one of our humans: then the human must confirm through the
//! claim ceremony (no silent account linking), which the caller starts.

use super::policy::RegistrationPath;
use super::record::{Delegation, Registration, RegistrationType};
use super::registrations::Registrations;
use crate::email::Email;
use crate::error::IdentityError;
use crate::providers::IdJag;

/// A registration the provider's assertion unlocked, with a fresh identity assertion.
#[derive(Debug)]
pub struct DelegatedRegistration {
    pub registration: Registration,
    pub identity_assertion: String,
    pub assertion_expires_at: i64,
}

/// A delegation naming a human we already know: not stored yet, it waits for the claim
/// ceremony to confirm it with that human.
#[derive(Debug)]
pub struct PendingDelegation {
    /// Unclaimed, carrying the delegation, and claimable only by `email`.
    pub registration: Registration,
    pub email: Email,
}

#[derive(Debug)]
pub enum Delegated {
    Issued(DelegatedRegistration),
    NeedsConfirmation(PendingDelegation),
}

impl Registrations {
    /// `binding`: the DPoP key the request proved, which the assertion is bound to.
    pub async fn register_delegated(
        &self,
        id_jag: IdJag,
        now: i64,
        binding: Option<String>,
    ) -> Result<Delegated, IdentityError> {
        self.policy.ensure_enabled(RegistrationPath::IdJag)?;
        let delegation = Delegation {
            iss: id_jag.iss,
            sub: id_jag.sub,
            issued_at: id_jag.issued_at,
        };
        self.ensure_not_revoked(&delegation).await?;
        if let Some(known) = self.known_delegation(&delegation).await? {
            return self.issue(known, now, binding).map(Delegated::Issued);
        }
        let mut registration = self.delegated_record(now, binding, delegation);
        if self.users.user_exists(&id_jag.email).await? {
            // Only the human the provider named may confirm this link.
            registration.claim_email = Some(id_jag.email.clone());
            return Ok(Delegated::NeedsConfirmation(PendingDelegation {
                registration,
                email: id_jag.email,
            }));
        }
        self.register_claimed(registration, id_jag.email, now)
            .await
            .map(Delegated::Issued)
    }

    /// The live, claimed registration a delegation maps to; a stale mapping is dropped.
    async fn known_delegation(&self, delegation: &Delegation) -> Result<Option<Registration>, IdentityError> {
        let (iss, sub) = (&delegation.iss, &delegation.sub);
        let Some(id) = self.delegations.delegation(iss, sub).await? else {
            return Ok(None);
        };
        match self.store.get(&id).await? {
            Some(registration) if registration.revoked_at.is_none() && registration.claimed_at.is_some() => {
                Ok(Some(registration))
            }
            _ => {
                self.delegations.unlink_delegation(iss, sub).await?;
                Ok(None)
            }
        }
    }

    async fn register_claimed(
        &self,
        mut registration: Registration,
        email: Email,
        now: i64,
    ) -> Result<DelegatedRegistration, IdentityError> {
        let binding = registration.jkt.clone();
        registration.claimed_at = Some(now);
        registration.owner_email = Some(email.clone());
        self.create(&registration).await?;
        let Some(delegation) = registration.delegation.clone() else {
            return Err(IdentityError::Internal(
                "a delegated registration without its delegation".into(),
            ));
        };
        let winner = self.link_delegation(&delegation, &registration.id, now).await?;
        self.record_owner(&email, &registration.id).await?;
        if winner != registration.id {
            // A replica registered the same delegation a moment earlier: theirs stands.
            let theirs = self.store.get(&winner).await?.ok_or_else(|| {
                IdentityError::Internal(format!("delegation points at missing registration {winner}"))
            })?;
            return self.issue(theirs, now, binding);
        }
        self.issue(registration, now, binding)
    }

    fn delegated_record(&self, now: i64, binding: Option<String>, delegation: Delegation) -> Registration {
        let scopes = (
            self.policy.post_claim_scopes.clone(),
            self.policy.post_claim_scopes.clone(),
        );
        let mut registration = Registration::new(
            RegistrationType::IdentityAssertion,
            now,
            self.policy.claim_window,
            scopes,
            String::new(),
        );
        registration.jkt = binding;
        registration.delegation = Some(delegation);
        registration
    }

    /// The assertion for this request: bound to the key it proved, if any (a known
    /// delegation re-registering may bring a new key).
    fn issue(
        &self,
        mut registration: Registration,
        now: i64,
        binding: Option<String>,
    ) -> Result<DelegatedRegistration, IdentityError> {
        registration.jkt = binding;
        let (identity_assertion, assertion_expires_at) = self.mint_assertion(&registration, now)?;
        Ok(DelegatedRegistration {
            registration,
            identity_assertion,
            assertion_expires_at,
        })
    }
}
