//! RFC 8693 token exchange as delegation: a token for the subject of `subject_token`,
//! acted for by the party of `actor_token` (or, without one, the requesting client),
//! its actors nested in `act` newest outermost (§4.1). It only ever narrows what it
//! came from: its `scope` is within the subject token's and what the actor may hold,
//! its `aud` one protected resource, its `exp` no later than the subject token's (and
//! `delegation.max_lifetime` from now), and it names every token it came from in
//! `delegated_from`, so revoking any of them, or anything they rest on, ends it
//! ([`Liveness`]).
//!
//! Who may exchange (RFC 8693 §2.1, §5): the requesting client authenticates, and it is
//! either the subject token's holder (the client it was issued to, or, for a delegated
//! token, its current actor) handing work on to an actor, or the actor itself. An agent
//! handing on its own access authenticates by holding it: its identity assertion as the
//! `subject_token` (`…:token-type:jwt`), or its DPoP-bound access token with a proof.
//! The subject must allow it: a machine client names its actors in `may_act`; a human
//! (on the consent page or `/agent/account`) and an agent's owner (on
//! `/agent/account`; before its claim, its pre-claim scopes) let the holder hand on the
//! scopes they chose, to any actor.
//! A subject token bound to a DPoP key or a certificate is exchanged only with a proof
//! of that key, or over that certificate.
//!
//! Refusals follow §2.2.2: a subject or actor token that is not a live token of ours is
//! `invalid_request`; a client that is neither holder nor actor is
//! `unauthorized_client`; an actor the subject did not allow, or a chain past
//! `delegation.max_depth`, is `invalid_grant`; a target we do not issue for is
//! `invalid_target`; a scope beyond the subject token's is `invalid_scope`.

use std::sync::Arc;
use std::time::Duration;

use protocol::oauth::token_type;
use protocol::scope::ScopeSet;
use serde::{Deserialize, Serialize};

mod parties;
mod tokens;

use self::parties::{Actor, Requester};
use super::request::{Presented, TokenExchangeRequest};
use super::{DpopProofs, Resources, dpop_required};
use crate::access_token::{AccessTokenClaims, Audience, Confirmation, Minted, TokenMinter, TokenRequest};
use crate::client_auth::ClientAuthenticator;
use crate::clients::{ClientId, ClientStore};
use crate::delegations::Delegations;
use crate::error::OAuthError;
use crate::liveness::Liveness;
use crate::peers::identity::IdentityClient;
use protocol::jose::assertion::AssertionRules;
use shared::keys::watch::KeyRingWatch;

/// `delegation`: the bounds of every delegated token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegationSettings {
    /// The most actors one token's `act` chain may name; an exchange past it is refused.
    pub max_depth: usize,
    /// The longest a delegated token lives (never past the token it came from), so
    /// resource servers that verify offline see a delegation end soon after its parent.
    #[serde(with = "humantime_serde")]
    pub max_lifetime: Duration,
}

impl Default for DelegationSettings {
    fn default() -> Self {
        Self {
            max_depth: 3,
            max_lifetime: Duration::from_secs(300),
        }
    }
}

#[derive(Debug)]
pub struct TokenExchangeGrant {
    pub authenticator: Arc<ClientAuthenticator>,
    pub proofs: Arc<DpopProofs>,
    pub resources: Arc<Resources>,
    pub minter: Arc<TokenMinter>,
    pub liveness: Arc<Liveness>,
    /// Where each delegation is recorded for its subject's account page.
    pub log: Arc<Delegations>,
    pub clients: Arc<dyn ClientStore>,
    pub identity: Arc<IdentityClient>,
    /// Our identity assertions, as `actor_token` (`…:token-type:jwt`).
    pub assertions: AssertionRules,
    pub keys: KeyRingWatch,
    pub limits: DelegationSettings,
}

impl TokenExchangeGrant {
    pub async fn exchange(&self, request: TokenExchangeRequest, presented: Presented) -> Result<Minted, OAuthError> {
        if request
            .requested_token_type
            .as_deref()
            .is_some_and(|t| t != token_type::ACCESS_TOKEN)
        {
            return Err(OAuthError::InvalidRequest(
                "requested_token_type: only access tokens are issued by token exchange".into(),
            ));
        }
        let audiences = self.audiences(&request)?;
        let authenticated = match presented.credentials {
            Some(credentials) => Some(self.authenticator.authenticate(credentials).await?),
            None => None,
        };
        let subject = self.subject(&request).await?;
        let jkt = self.proofs.key(&presented.dpop).await?;
        let requester = match authenticated {
            Some(authenticated) => Requester::client(authenticated),
            None => Requester::agent(&subject, jkt.as_ref())?,
        };
        let subject = subject.claims;
        let actor = self.actor(&request, &requester).await?;
        let holds = parties::check_holder(&requester.client_id, &subject, &actor)?;
        let cap = self.check_may_act(&subject, &actor, holds).await?;
        let delegation = parties::delegation(&subject, &actor, &self.limits, shared::time::unix_now())?;
        parties::check_certificate(&subject, requester.certificate.as_ref())?;
        parties::check_proof(&subject, &actor, jkt.as_ref())?;
        if requester.requires_dpop && jkt.is_none() {
            return Err(dpop_required());
        }
        let scope = self.scope((&subject, cap.as_ref()), &actor, &request, &audiences)?;
        let audiences = if audiences.is_empty() {
            match &subject.aud {
                Audience::One(one) => vec![one.clone()],
                Audience::Many(many) => many.clone(),
            }
        } else {
            audiences
        };
        let (mut minted, claims) = self.minter.mint_delegated(
            TokenRequest {
                subject: &subject.sub,
                client_id: &requester.client_id,
                scope,
                audiences,
                cnf: Confirmation {
                    jkt: actor.jkt.clone().or(jkt),
                    x5t_s256: requester.certificate.clone(),
                },
                grant_id: subject.grant_id.as_deref(),
            },
            delegation,
        )?;
        self.log.record(&claims).await?;
        minted.issued_token_type = Some(token_type::ACCESS_TOKEN);
        Ok(minted)
    }

    /// The subject must have allowed the actor, and says how much may be handed on: a
    /// machine client names its actors in `may_act` (no cap beyond its token); an
    /// agent's owner (or, before its claim, its pre-claim scopes) and a human's consent
    /// let the holder, and no one who merely got hold of the token, hand on the scopes
    /// they chose to any actor.
    async fn check_may_act(
        &self,
        subject: &AccessTokenClaims,
        actor: &Actor,
        holds: bool,
    ) -> Result<Option<ScopeSet>, OAuthError> {
        let allowed = if let Ok(id) = ClientId::parse(&subject.sub) {
            let named = self
                .clients
                .get(&id)
                .await?
                .is_some_and(|client| client.may_act.contains(&actor.sub));
            named.then_some(None)
        } else if !holds {
            None
        } else if subject.sub.starts_with(parties::AGENT_SUBJECT_PREFIX) {
            self.identity.delegable(&subject.sub).await?.map(Some)
        } else if let Some(grant_id) = &subject.grant_id {
            self.identity.grant_status(grant_id).await?.delegable.map(Some)
        } else {
            None
        };
        allowed.ok_or_else(|| {
            OAuthError::InvalidGrant("the subject has not allowed this actor to act for it (may_act)".into())
        })
    }

    /// §2.1 `resource` and `audience`: one protected resource at most, which becomes the
    /// token's `aud`.
    fn audiences(&self, request: &TokenExchangeRequest) -> Result<Vec<String>, OAuthError> {
        let mut scoping_targets = request.scoping.resources.clone();
        scoping_targets.extend(request.audiences.iter().cloned());
        let targets = self.resources.requested(&super::request::Scoping {
            scope: None,
            resources: scoping_targets,
        })?;
        if targets.len() > 1 {
            return Err(OAuthError::InvalidTarget(
                "a delegated token is for one resource: name one `resource` or `audience`",
            ));
        }
        Ok(targets)
    }

    /// Within the subject token's scope and what its subject lets be handed on (a wider
    /// request is refused, not trimmed), what the actor may hold, and what the resource
    /// supports.
    fn scope(
        &self,
        (subject, cap): (&AccessTokenClaims, Option<&ScopeSet>),
        actor: &Actor,
        request: &TokenExchangeRequest,
        audiences: &[String],
    ) -> Result<ScopeSet, OAuthError> {
        let held = ScopeSet::parse(&subject.scope).unwrap_or_default();
        let held = cap.map_or_else(|| held.clone(), |cap| held.intersection(cap));
        if let Some(raw) = &request.scoping.scope {
            let requested = ScopeSet::parse(raw).map_err(|_| {
                OAuthError::InvalidScope("`scope` must be scope tokens separated by single spaces".into())
            })?;
            if !requested.is_subset(&held) {
                return Err(OAuthError::InvalidScope(
                    "a delegated token may not carry a scope its subject token does not, or its subject does not let be handed on".into(),
                ));
            }
        }
        self.resources
            .narrow(&held.intersection(&actor.scope), &request.scoping, audiences)
    }
}
