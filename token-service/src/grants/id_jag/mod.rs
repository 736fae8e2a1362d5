//! MCP enterprise-managed authorization: an enterprise identity provider's ID-JAG
//! (draft-ietf-oauth-identity-assertion-authz-grant -04) presented as an RFC 7523
//! jwt-bearer grant. The client authenticates by any method it is registered with (a
//! public client may not use this grant), the provider's policy says which clients may
//! and what they may hold, and the token is for the human the provider names, as sign-in
//! there would name them, for the resource the ID-JAG names.
//!
//! - [`providers`]: the configured providers, their keys, and the ID-JAG's verification;
//! - [`claims`]: the ID-JAG's claims and the rules they meet.
//!
//! Told apart from our own identity assertions by `iss` alone, before any key is used.

pub mod claims;
pub mod providers;

use std::sync::Arc;

use protocol::oauth::id_jag::HumanProvisioning;

use self::claims::IdJagClaims;
use self::providers::{EnterpriseProvider, EnterpriseProviders};
use super::request::{JwtBearerRequest, Presented};
use super::{DpopProofs, Resources, dpop_required};
use crate::access_token::{Confirmation, Minted, TokenMinter, TokenRequest};
use crate::client_auth::{Authenticated, ClientAuthenticator};
use crate::clients::Client;
use crate::error::OAuthError;
use crate::peers::identity::{IdentityClient, ProviderGrant, ProviderGrantAsk};
use crate::refresh::{NewFamily, RefreshTokens};

#[derive(Debug)]
pub struct IdJagGrant {
    pub providers: Arc<EnterpriseProviders>,
    pub authenticator: Arc<ClientAuthenticator>,
    pub proofs: Arc<DpopProofs>,
    pub identity: Arc<IdentityClient>,
    pub resources: Arc<Resources>,
    pub minter: Arc<TokenMinter>,
    pub refresh: Arc<RefreshTokens>,
}

impl IdJagGrant {
    /// The provider `assertion` claims to come from, if it names a configured one.
    pub fn claimed_by(&self, assertion: &str) -> Option<Arc<EnterpriseProvider>> {
        self.providers.claimed_by(assertion)
    }

    pub async fn exchange(
        &self,
        provider: &EnterpriseProvider,
        request: JwtBearerRequest,
        presented: Presented,
    ) -> Result<Minted, OAuthError> {
        let requested = self.resources.requested(&request.scoping)?;
        let credentials = presented.credentials.ok_or(OAuthError::InvalidClient(
            "the ID-JAG grant requires client authentication; a public client may not use it",
        ))?;
        let Authenticated {
            client,
            certificate_thumbprint,
        } = self.authenticator.authenticate(credentials).await?;
        let now = shared::time::unix_now();
        let claims = self.providers.verify(provider, &request.assertion, now).await?;
        may_present(provider, &client, &claims)?;
        let jkt = self.proofs.key(&presented.dpop).await?;
        if client.requires_dpop && jkt.is_none() {
            return Err(dpop_required());
        }
        let audiences = match claims.resources() {
            allowed if allowed.is_empty() => requested,
            allowed => self.resources.approved(requested, &allowed)?,
        };
        let grantable = grantable(provider, &client, &claims)?;
        let scope = self.resources.narrow(&grantable, &request.scoping, &audiences)?;
        // Spent last, once nothing else can refuse it here: a refused request leaves the
        // ID-JAG to its rightful presenter.
        self.providers.spend(&claims).await?;
        let granted = self
            .identity
            .provider_grant(ProviderGrantAsk {
                issuer: claims.iss.clone(),
                subject: claims.sub.clone(),
                email: claims.email.clone(),
                email_verified: claims.email_verified == Some(true),
                client_id: client.client_id.to_string(),
                client_name: client.name.clone(),
                scopes: scope.clone(),
                resources: audiences.clone(),
                create_human: provider.settings.humans == HumanProvisioning::Create,
            })
            .await?;
        let cnf = Confirmation {
            jkt,
            x5t_s256: certificate_thumbprint,
        };
        let minted = self
            .issue(provider, &client, &granted, (scope, audiences), cnf, now)
            .await?;
        shared::audit::record(
            "id_jag_accepted",
            shared::audit::Actor::Client(client.client_id.as_str()),
            &granted.subject,
            "success",
        );
        Ok(minted)
    }

    /// The access token, and a refresh token when the provider's policy allows one.
    async fn issue(
        &self,
        provider: &EnterpriseProvider,
        client: &Client,
        granted: &ProviderGrant,
        (scope, audiences): (protocol::scope::ScopeSet, Vec<String>),
        cnf: Confirmation,
        now: i64,
    ) -> Result<Minted, OAuthError> {
        let jkt = cnf.jkt.clone();
        let mut minted = self.minter.mint(TokenRequest {
            subject: &granted.subject,
            client_id: client.client_id.as_str(),
            scope: scope.clone(),
            audiences: audiences.clone(),
            cnf,
            grant_id: Some(&granted.grant_id),
        })?;
        if provider.settings.refresh_tokens {
            let family = NewFamily {
                client_id: client.client_id.as_str(),
                subject: &granted.subject,
                grant_id: &granted.grant_id,
                scopes: &scope,
                resources: &audiences,
                jkt: jkt.as_deref(),
            };
            minted.refresh_token = Some(self.refresh.issue(family, now).await?);
        }
        Ok(minted)
    }
}

/// Draft -04 §4.4: the ID-JAG's `client_id` is the client that authenticated, and the
/// provider's policy lets that client present its ID-JAGs.
fn may_present(provider: &EnterpriseProvider, client: &Client, claims: &IdJagClaims) -> Result<(), OAuthError> {
    if claims.client_id != client.client_id.as_str() {
        return Err(OAuthError::InvalidGrant(
            "the ID-JAG was issued to another client than the one that authenticated".into(),
        ));
    }
    if !provider
        .settings
        .allowed_clients
        .iter()
        .any(|c| c == client.client_id.as_str())
    {
        return Err(OAuthError::UnauthorizedClient(
            "this client may not present this identity provider's ID-JAGs",
        ));
    }
    Ok(())
}

/// What a token may carry before the request narrows it: the client's registered
/// scopes, narrowed by the ID-JAG's `scope` when it has one and by the provider's
/// `max_scopes`.
fn grantable(
    provider: &EnterpriseProvider,
    client: &Client,
    claims: &IdJagClaims,
) -> Result<protocol::scope::ScopeSet, OAuthError> {
    let mut grantable = client.allowed_scopes.clone();
    if let Some(allowed) = claims.scope()? {
        grantable = grantable.intersection(&allowed);
    }
    if let Some(max) = &provider.max_scopes {
        grantable = grantable.intersection(max);
    }
    Ok(grantable)
}
