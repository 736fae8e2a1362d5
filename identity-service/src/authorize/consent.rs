//! Grants: a human's consent to a client, one per human and client. A request whose
//! scopes and resources the standing grant covers needs no new consent; a wider one
//! asks again and widens the same grant (its tokens stay tied to it). Revoking a grant
//! kills every token tied to it: token-service asks [`Authorizations::grant`] before
//! trusting one.

use shared::audit::{self, Actor};

use super::record::{Grant, GrantId, HandOn};
use super::{AuthorizationRequest, Authorizations, AuthorizeError, SignedIn};

impl Authorizations {
    /// The human's standing consent, if it covers `request` and the client did not ask
    /// for the human to be asked again (`prompt=consent`).
    pub async fn remembered_consent(
        &self,
        who: &SignedIn,
        request: &AuthorizationRequest,
    ) -> Result<Option<Grant>, AuthorizeError> {
        if request.prompt.consent {
            return Ok(None);
        }
        let standing = self.store.consent(&who.human, &request.client.client_id).await?;
        Ok(standing.filter(|grant| grant.is_consent() && grant.covers(&request.scopes, &request.resources)))
    }

    /// Records the human's approval of `request`: the standing grant widened to cover
    /// it, or a new grant when none stands. `hand_on` is their latest answer to
    /// whether (and what of it) the client may hand on.
    pub async fn approve(
        &self,
        who: &SignedIn,
        request: &AuthorizationRequest,
        hand_on: &HandOn,
        now: i64,
    ) -> Result<Grant, AuthorizeError> {
        let limit = self.settings.authorizations_per_human;
        self.limits
            .enforce(&format!("consents-human:{}", who.human), limit)
            .await?;
        let client_id = &request.client.client_id;
        let standing = self
            .store
            .consent(&who.human, client_id)
            .await?
            .filter(|grant| grant.is_active() && grant.is_consent());
        let mut grant = match standing {
            Some(grant) => widened(grant, request),
            None => Grant {
                id: GrantId::random(),
                subject: who.human.clone(),
                client_id: client_id.clone(),
                client_name: request.client.name.clone(),
                scopes: request.scopes.clone(),
                resources: request.resources.clone(),
                granted_at: now,
                revoked_at: None,
                via: None,
                upstream: None,
                delegable: false,
                delegable_scopes: None,
            },
        };
        grant.hand_on(hand_on);
        let grant = if self.store.put_grant(&grant).await? {
            grant
        } else {
            // The standing grant was revoked while the human answered: theirs is a new one.
            let fresh = Grant {
                id: GrantId::random(),
                scopes: request.scopes.clone(),
                resources: request.resources.clone(),
                granted_at: now,
                revoked_at: None,
                ..grant
            };
            self.store.put_grant(&fresh).await?;
            fresh
        };
        audit::record("consent_granted", Actor::Human, grant.id.as_str(), "success");
        Ok(grant)
    }

    /// The grant `id` names, active or not.
    pub async fn grant(&self, id: &str) -> Result<Option<Grant>, AuthorizeError> {
        let Ok(id) = GrantId::parse(id) else {
            return Ok(None);
        };
        Ok(self.store.grant(&id).await?)
    }

    /// Revokes a grant: from now on no token tied to it is honoured. `why` is the audit
    /// outcome (`success` when the human did it, `code_replayed`…).
    pub async fn revoke_grant(
        &self,
        mut grant: Grant,
        actor: Actor<'_>,
        why: &str,
        now: i64,
    ) -> Result<(), AuthorizeError> {
        if grant.revoked_at.is_some() {
            return Ok(());
        }
        grant.revoked_at = Some(now);
        // A revocation always writes: only an un-revoking write is ever refused.
        self.store.put_grant(&grant).await?;
        audit::record("consent_revoked", actor, grant.id.as_str(), why);
        Ok(())
    }
}

impl Authorizations {
    /// Every consent the human gave, newest first, revoked ones included.
    pub async fn grants_of(&self, who: &SignedIn) -> Result<Vec<Grant>, AuthorizeError> {
        Ok(self.store.grants_of(&who.human).await?)
    }

    /// The human changes what the client of one of their active consents may hand on;
    /// `false` when it is not theirs, not active, or an organization's grant (ID-JAG).
    pub async fn set_own_hand_on(&self, who: &SignedIn, id: &str, answer: HandOn) -> Result<bool, AuthorizeError> {
        match self.grant(id).await? {
            Some(mut grant) if grant.subject == who.human && grant.is_active() && grant.is_consent() => {
                grant.hand_on(&answer);
                if !self.store.put_grant(&grant).await? {
                    return Ok(false);
                }
                audit::record("consent_hand_on_set", Actor::Human, grant.id.as_str(), "success");
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// The human revokes one of their own consents; `false` when it is not theirs.
    pub async fn revoke_own_grant(&self, who: &SignedIn, id: &str, now: i64) -> Result<bool, AuthorizeError> {
        match self.grant(id).await? {
            Some(grant) if grant.subject == who.human => {
                self.revoke_grant(grant, Actor::Human, "success", now).await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

/// The standing `grant` widened to cover `request`.
fn widened(mut grant: Grant, request: &AuthorizationRequest) -> Grant {
    grant.scopes = grant.scopes.union(&request.scopes);
    for resource in &request.resources {
        if !grant.resources.contains(resource) {
            grant.resources.push(resource.clone());
        }
    }
    grant.client_name.clone_from(&request.client.name);
    grant
}
