//! [`Registrations`]: the one service that writes registrations and the links around
//! them (delegations, known humans), and signs their identity assertions.

use std::sync::Arc;

use protocol::scope::ScopeSet;
use protocol::secrets::SecretHasher;
use shared::audit::{self, Actor};
use shared::keys::watch::KeyRingWatch;

use super::policy::RegistrationPolicy;
use super::record::{Registration, RegistrationId, RegistrationStatus};
use super::store::{DelegationStore, RegistrationStore, UserDirectory};
use super::update::{Edit, edit_registration};
use crate::assertion::{Assertions, Subject};
use crate::email::Email;
use crate::error::IdentityError;

/// The stores registrations live in.
#[derive(Debug, Clone)]
pub struct RegistrationStores {
    pub registrations: Arc<dyn RegistrationStore>,
    pub delegations: Arc<dyn DelegationStore>,
    pub users: Arc<dyn UserDirectory>,
}

#[derive(Debug)]
pub struct Registrations {
    pub(super) store: Arc<dyn RegistrationStore>,
    pub(super) delegations: Arc<dyn DelegationStore>,
    pub(super) users: Arc<dyn UserDirectory>,
    pub(super) policy: RegistrationPolicy,
    pub(super) assertions: Assertions,
    /// The signing keys as jwks-service last sent them.
    signer: KeyRingWatch,
    /// Keys the hashes of the claim tokens it mints.
    pub(super) hasher: SecretHasher,
}

impl Registrations {
    pub fn new(
        stores: RegistrationStores,
        policy: RegistrationPolicy,
        assertions: Assertions,
        (signer, hasher): (KeyRingWatch, SecretHasher),
    ) -> Self {
        Self {
            hasher,
            store: stores.registrations,
            delegations: stores.delegations,
            users: stores.users,
            policy,
            assertions,
            signer,
        }
    }

    pub fn policy(&self) -> &RegistrationPolicy {
        &self.policy
    }

    /// The store, for readiness checks.
    pub fn store(&self) -> Arc<dyn RegistrationStore> {
        self.store.clone()
    }

    pub async fn get(&self, id: &RegistrationId) -> Result<Option<Registration>, IdentityError> {
        Ok(self.store.get(id).await?)
    }

    /// Edits registration `id` atomically (see [`edit_registration`]); `read` is the
    /// record if the caller already holds a fresh read of it.
    pub async fn edit<T>(
        &self,
        id: &RegistrationId,
        read: Option<Option<Registration>>,
        decide: impl FnMut(Option<&mut Registration>) -> Result<Edit<T>, IdentityError>,
    ) -> Result<T, IdentityError> {
        edit_registration(
            self.store.as_ref(),
            (id, read),
            self.policy.retention_after_expiry,
            decide,
        )
        .await
    }

    /// Stores a new registration (forgotten some time after its claim window unless
    /// claimed) and records the audit event.
    pub async fn create(&self, registration: &Registration) -> Result<(), IdentityError> {
        let drop_at = registration.drop_at(self.policy.retention_after_expiry);
        self.store.create(registration, drop_at).await?;
        let actor = match &registration.delegation {
            Some(delegation) => Actor::Provider(&delegation.iss),
            None => Actor::Anonymous,
        };
        audit::record("registration_created", actor, registration.id.as_str(), "success");
        Ok(())
    }

    /// Signs an identity assertion for `registration` with the current key.
    pub fn mint_assertion(&self, registration: &Registration, now: i64) -> Result<(String, i64), IdentityError> {
        let signer = self
            .signer
            .borrow()
            .signer_at(now)
            .cloned()
            .ok_or(IdentityError::KeysUnavailable)?;
        let minted = self
            .assertions
            .mint(&signer, subject(registration), now)
            .map_err(|e| IdentityError::Internal(e.to_string()))?;
        let id = registration.id.as_str();
        audit::record("assertion_issued", Actor::Registration(id), id, "success");
        Ok(minted)
    }

    /// A human now owns a claimed registration: the next ID-JAG naming them steps up,
    /// and their account page lists it.
    pub async fn record_owner(&self, email: &Email, id: &RegistrationId) -> Result<(), IdentityError> {
        Ok(self.users.record_owned(email, id).await?)
    }

    /// The registrations `email` owns now, newest first.
    pub async fn owned_by(&self, email: &Email) -> Result<Vec<Registration>, IdentityError> {
        let mut owned = Vec::new();
        for id in self.users.owned_by(email).await? {
            if let Some(registration) = self.store.get(&id).await?
                && registration.owner_email.as_ref() == Some(email)
            {
                owned.push(registration);
            }
        }
        owned.sort_by_key(|r| std::cmp::Reverse(r.created_at));
        Ok(owned)
    }

    /// The human `email` revokes a registration they own; `false` when it is not theirs
    /// (or does not exist), which changes nothing.
    pub async fn revoke_owned(&self, email: &Email, id: &str, now: i64) -> Result<bool, IdentityError> {
        let Ok(id) = RegistrationId::parse(id) else {
            return Ok(false);
        };
        let owned = self
            .store
            .get(&id)
            .await?
            .is_some_and(|r| r.owner_email.as_ref() == Some(email));
        if !owned {
            return Ok(false);
        }
        self.revoke(&id, now).await?;
        audit::record("registration_revoked", Actor::Human, id.as_str(), "success");
        Ok(true)
    }

    /// The human `email` sets what their claimed agent may hand on by token exchange
    /// (no scopes: nothing), never more than it holds once claimed; `false`
    /// when it is not theirs, not claimed, or revoked, which changes nothing.
    pub async fn set_delegable_owned(
        &self,
        email: &Email,
        id: &str,
        scopes: &ScopeSet,
        now: i64,
    ) -> Result<bool, IdentityError> {
        let Ok(id) = RegistrationId::parse(id) else {
            return Ok(false);
        };
        let set = self
            .edit(&id, None, |registration| {
                let Some(registration) = registration
                    .filter(|r| r.owner_email.as_ref() == Some(email) && r.status(now) == RegistrationStatus::Claimed)
                else {
                    return Ok(Edit::Unchanged(false));
                };
                let allowed = scopes.intersection(&registration.post_claim_scopes);
                registration.delegable_scopes = (!allowed.is_empty()).then_some(allowed);
                Ok(Edit::Changed(true))
            })
            .await?;
        if set {
            audit::record("agent_delegation_set", Actor::Human, id.as_str(), "success");
        }
        Ok(set)
    }

    /// Revokes registration `id`: status `revoked`, its claim handle and attempt dropped.
    pub async fn revoke(&self, id: &RegistrationId, now: i64) -> Result<(), IdentityError> {
        self.edit(id, None, |registration| {
            let Some(registration) = registration else {
                return Ok(Edit::Unchanged(()));
            };
            if registration.revoked_at.is_none() {
                registration.revoked_at = Some(now);
            }
            registration.claim_token_hash = None;
            registration.claim_attempt = None;
            Ok(Edit::Changed(()))
        })
        .await
    }
}

/// Who a registration's identity assertions are for.
fn subject(registration: &Registration) -> Subject<'_> {
    Subject {
        registration_id: registration.id.as_str(),
        client_id: &registration.client_id,
        registration_type: registration.registration_type.as_str(),
        jkt: registration.jkt.as_deref(),
    }
}
