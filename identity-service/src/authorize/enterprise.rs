//! Grants an enterprise identity provider gives (MCP enterprise-managed authorization):
//! token-service verified the provider's ID-JAG, and asks which human its `(iss, sub)`
//! is and which grant the tokens rest on. The human follows the rule of sign-in at that
//! provider (`humans.identity_providers`), so a person is the same human whether they
//! signed in here in a browser or arrived by ID-JAG. The grant is the provider's
//! decision, recorded per human and client like a consent: the human sees it on their
//! page and can revoke it, and the provider's security events about its user revoke it.

use protocol::scope::ScopeSet;
use shared::audit::{self, Actor};

use super::record::{Grant, GrantId, HumanId};
use super::{Authorizations, AuthorizeError};
use crate::email::Email;

/// What token-service asks for, from a verified ID-JAG.
#[derive(Debug)]
pub struct ProviderGrantRequest {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub client_id: String,
    pub client_name: String,
    pub scopes: ScopeSet,
    pub resources: Vec<String>,
    /// Make the person a human here on first use.
    pub create_human: bool,
}

/// The answer: the human and the grant, or why not (for the client to read).
#[derive(Debug)]
pub enum ProviderGrant {
    Granted { human: HumanId, grant_id: GrantId },
    Refused(&'static str),
}

impl Authorizations {
    /// The human a verified ID-JAG names and the grant its tokens rest on: the standing
    /// one when it covers the request (no write), else that one widened or a new one.
    pub async fn provider_grant(
        &self,
        request: ProviderGrantRequest,
        now: i64,
    ) -> Result<ProviderGrant, AuthorizeError> {
        let Some(provider) = self.upstream.by_issuer(&request.issuer) else {
            tracing::warn!(issuer = %request.issuer, "an ID-JAG issuer is not one of humans.identity_providers");
            return Ok(ProviderGrant::Refused(
                "the identity provider is not one whose people are humans here",
            ));
        };
        if provider
            .admits(request.email.as_deref(), request.email_verified)
            .is_err()
        {
            return Ok(ProviderGrant::Refused(
                "the person's address is not one this identity provider may sign in",
            ));
        }
        let email = request.email.as_deref().and_then(|e| Email::parse(e).ok());
        let linked = email
            .as_ref()
            .filter(|_| provider.settings.link_by_verified_email && request.email_verified);
        let (human, upstream) = self.human_named(&provider.settings.id, &request.subject, linked);
        if request.create_human {
            self.store.remember_human(&human, now).await?;
        } else if !self.store.human_known(&human).await? {
            return Ok(ProviderGrant::Refused(
                "the person has not signed in here yet; they must sign in once before their identity provider can grant access",
            ));
        }
        let via = provider.settings.id.clone();
        let standing = self
            .store
            .consent(&human, &request.client_id)
            .await?
            .filter(|grant| grant.is_active() && grant.via.as_deref() == Some(via.as_str()));
        if let Some(grant) = standing
            .as_ref()
            .filter(|g| g.covers(&request.scopes, &request.resources))
        {
            return Ok(ProviderGrant::Granted {
                human,
                grant_id: grant.id.clone(),
            });
        }
        let grant = self
            .record_provider_grant(standing, request, (human.clone(), upstream, via), now)
            .await?;
        Ok(ProviderGrant::Granted {
            human,
            grant_id: grant.id,
        })
    }

    /// Writes the provider's grant: `standing` widened, or a new one (also when the
    /// standing one was revoked meanwhile).
    async fn record_provider_grant(
        &self,
        standing: Option<Grant>,
        request: ProviderGrantRequest,
        (human, upstream, via): (HumanId, HumanId, String),
        now: i64,
    ) -> Result<Grant, AuthorizeError> {
        self.limits
            .enforce(
                &format!("consents-human:{human}"),
                self.settings.authorizations_per_human,
            )
            .await?;
        let fresh = Grant {
            id: GrantId::random(),
            subject: human,
            client_id: request.client_id,
            client_name: request.client_name,
            scopes: request.scopes.clone(),
            resources: request.resources.clone(),
            granted_at: now,
            revoked_at: None,
            via: Some(via),
            upstream: Some(upstream),
            delegable: false,
            delegable_scopes: None,
        };
        let grant = match standing {
            Some(mut grant) => {
                grant.scopes = grant.scopes.union(&request.scopes);
                for resource in request.resources {
                    if !grant.resources.contains(&resource) {
                        grant.resources.push(resource);
                    }
                }
                grant
            }
            None => fresh.clone(),
        };
        let grant = if self.store.put_grant(&grant).await? {
            grant
        } else {
            self.store.put_grant(&fresh).await?;
            fresh
        };
        audit::record(
            "provider_grant_recorded",
            Actor::Provider(&request.issuer),
            grant.id.as_str(),
            "success",
        );
        Ok(grant)
    }

    /// The provider at `issuer` says its user `subject` must lose access (a security
    /// event): every grant it gave for that user is revoked, so their tokens die at once.
    /// How many were.
    pub async fn revoke_provider_grants(&self, issuer: &str, subject: &str, now: i64) -> Result<usize, AuthorizeError> {
        let Some(provider) = self.upstream.by_issuer(issuer) else {
            return Ok(0);
        };
        let via = provider.settings.id.as_str();
        let (_, upstream) = self.human_named(via, subject, None);
        let mut revoked = 0;
        for grant in self.store.grants_of(&upstream).await? {
            let theirs = grant.upstream.as_ref() == Some(&upstream) && grant.via.as_deref() == Some(via);
            if theirs && grant.is_active() {
                self.revoke_grant(grant, Actor::Provider(issuer), "provider_revoked", now)
                    .await?;
                revoked += 1;
            }
        }
        Ok(revoked)
    }
}
