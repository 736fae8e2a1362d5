//! Revoking a registration: status `revoked`, the claim handle dropped, and (being
//! derived from the stored record) every replica refuses it at once.
//!
//! A provider's revocation of a delegation `(iss, sub)` also outlives the registration it
//! finds: it is recorded with a cutoff, and nothing the provider asserted up to then may
//! link the delegation again (a step-up still waiting for its human, another ID-JAG
//! issued before the revocation). A revocation writes its record before it reads the
//! link; a link is written before the record is read. Whichever runs second sees the
//! other, so a revocation racing a link is never lost.

use shared::audit::{self, Actor};

use super::record::{Delegation, RegistrationId};
use super::registrations::Registrations;
use crate::error::IdentityError;

impl Registrations {
    /// Revokes the registration a provider delegation maps to, and bars every assertion
    /// the provider issued for it up to `revoked_at` (the event's `iat`: the provider's
    /// clock, the same clock as its assertions' `iat`); `None` when it maps to no
    /// registration yet.
    pub async fn revoke_delegation(
        &self,
        (iss, sub): (&str, &str),
        revoked_at: i64,
        now: i64,
    ) -> Result<Option<RegistrationId>, IdentityError> {
        // As long as an assertion issued before the cutoff can be presented, or a step-up
        // it started can still be completed.
        let until = revoked_at
            .max(now)
            .saturating_add(secs(self.assertions.max_lifetime()))
            .saturating_add(secs(self.assertions.leeway()))
            .saturating_add(secs(self.policy.claim_window));
        self.delegations.record_revocation(iss, sub, revoked_at, until).await?;
        let Some(id) = self.delegations.delegation(iss, sub).await? else {
            tracing::info!("revocation for a delegation with no registration yet, recorded");
            return Ok(None);
        };
        self.revoke(&id, now).await?;
        self.delegations.unlink_delegation(iss, sub).await?;
        audit::record("registration_revoked", Actor::Provider(iss), id.as_str(), "success");
        Ok(Some(id))
    }

    /// Links `delegation` to registration `id` unless its provider revoked it after the
    /// assertion behind it; returns the registration the delegation maps to. A revoked
    /// delegation revokes `id` and answers `delegation_revoked`.
    pub async fn link_delegation(
        &self,
        delegation: &Delegation,
        id: &RegistrationId,
        now: i64,
    ) -> Result<RegistrationId, IdentityError> {
        let (iss, sub) = (&delegation.iss, &delegation.sub);
        let linked = self.delegations.link_delegation(iss, sub, id).await?;
        if let Err(revoked) = self.ensure_not_revoked(delegation).await {
            self.revoke(id, now).await?;
            self.delegations.unlink_delegation(iss, sub).await?;
            tracing::info!(registration_id = %id, "delegation revoked by its provider before it was linked");
            audit::record("registration_revoked", Actor::Provider(iss), id.as_str(), "success");
            return Err(revoked);
        }
        Ok(linked)
    }

    /// `delegation_revoked` when the provider revoked `(iss, sub)` at or after the moment
    /// the assertion behind `delegation` was issued.
    pub async fn ensure_not_revoked(&self, delegation: &Delegation) -> Result<(), IdentityError> {
        match self
            .delegations
            .revoked_through(&delegation.iss, &delegation.sub)
            .await?
        {
            Some(cutoff) if delegation.issued_at <= cutoff => Err(IdentityError::DelegationRevoked),
            _ => Ok(()),
        }
    }
}

fn secs(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}
