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
//! token, its current actor) handing work on to an actor, or the actor itself. Either
//! way the subject must have named the actor in its `may_act`.
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

use self::parties::Actor;
use super::request::{Presented, TokenExchangeRequest};
use super::{DpopProofs, Resources, dpop_required};
use crate::access_token::{AccessTokenClaims, Audience, Confirmation, Minted, TokenMinter, TokenRequest};
use crate::client_auth::ClientAuthenticator;
use crate::clients::{Client, ClientId, ClientStore};
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
        let credentials = presented.credentials.ok_or(OAuthError::InvalidClient(
            "token exchange requires client authentication",
        ))?;
        let audiences = self.audiences(&request)?;
        let authenticated = self.authenticator.authenticate(credentials).await?;
        let requester = &authenticated.client;
        let subject = self
            .live_token(&request.subject_token, &request.subject_token_type, "subject_token")
            .await?;
        let actor = self.actor(&request, requester).await?;
        let holds = parties::check_holder(requester.client_id.as_str(), &subject, &actor)?;
        self.check_may_act(&subject, &actor, holds).await?;
        let delegation = parties::delegation(&subject, &actor, &self.limits, shared::time::unix_now())?;
        parties::check_certificate(&subject, authenticated.certificate_thumbprint.as_ref())?;
        let jkt = self.proofs.key(&presented.dpop).await?;
        parties::check_proof(&subject, &actor, jkt.as_ref())?;
        if requester.requires_dpop && jkt.is_none() {
            return Err(dpop_required());
        }
        let scope = self.scope(&subject, &actor, &request, &audiences)?;
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
                client_id: requester.client_id.as_str(),
                scope,
                audiences,
                cnf: Confirmation {
                    jkt: actor.jkt.clone().or(jkt),
                    x5t_s256: authenticated.certificate_thumbprint.clone(),
                },
                grant_id: subject.grant_id.as_deref(),
            },
            delegation,
        )?;
        self.log.record(&claims).await?;
        minted.issued_token_type = Some(token_type::ACCESS_TOKEN);
        Ok(minted)
    }

    /// The actor: the party of `actor_token`, a live token of ours, or without one the
    /// requesting client itself.
    async fn actor(&self, request: &TokenExchangeRequest, requester: &Client) -> Result<Actor, OAuthError> {
        Ok(match (&request.actor_token, &request.actor_token_type) {
            (Some(assertion), Some(kind)) if kind == token_type::JWT => {
                // A sub-agent's identity assertion: the agent as it is now.
                let claims = super::jwt_bearer::verify_assertion(&self.assertions, &self.keys, assertion).map_err(
                    |refused| match refused {
                        OAuthError::InvalidGrant(why) => OAuthError::InvalidRequest(format!("the actor_token: {why}")),
                        other => other,
                    },
                )?;
                let agent = self
                    .identity
                    .lookup(&claims, assertion)
                    .await
                    .map_err(|refused| match refused {
                        OAuthError::InvalidGrant(why) => OAuthError::InvalidRequest(format!("the actor_token: {why}")),
                        other => other,
                    })?;
                Actor {
                    sub: agent.subject,
                    client_id: agent.client_id,
                    scope: agent.scopes,
                    jkt: claims.cnf.map(|cnf| cnf.jkt).or(agent.bound_jkt),
                    exp: Some(claims.exp),
                }
            }
            (Some(token), Some(kind)) => {
                let claims = self.live_token(token, kind, "actor_token").await?;
                Actor {
                    sub: claims.sub,
                    client_id: claims.client_id,
                    scope: ScopeSet::parse(&claims.scope).unwrap_or_default(),
                    jkt: claims.cnf.and_then(|cnf| cnf.jkt),
                    exp: Some(claims.exp),
                }
            }
            (None, None) => Actor {
                sub: requester.client_id.to_string(),
                client_id: requester.client_id.to_string(),
                scope: requester.allowed_scopes.clone(),
                jkt: None,
                exp: None,
            },
            _ => {
                return Err(OAuthError::InvalidRequest(
                    "actor_token and actor_token_type are sent together or not at all".into(),
                ));
            }
        })
    }

    /// `token` as one of our access tokens, still live; anything else is
    /// `invalid_request` (§2.2.2). Tokens we did not sign never get this far, so no
    /// `act` reaches a chain but ours.
    async fn live_token(&self, token: &str, kind: &str, name: &str) -> Result<AccessTokenClaims, OAuthError> {
        if kind != token_type::ACCESS_TOKEN {
            let also = if name == "actor_token" {
                format!(" or our identity assertions ({})", token_type::JWT)
            } else {
                String::new()
            };
            return Err(OAuthError::InvalidRequest(format!(
                "{name}_type: only access tokens issued here ({}){also} are accepted",
                token_type::ACCESS_TOKEN
            )));
        }
        let claims = self.minter.verify(token).map_err(|_| {
            OAuthError::InvalidRequest(format!("the {name} is not an unexpired access token issued here"))
        })?;
        if !self.liveness.is_active(&claims).await? {
            return Err(OAuthError::InvalidRequest(format!("the {name} is expired or revoked")));
        }
        Ok(claims)
    }

    /// The subject must have allowed the actor: a machine client names it in its
    /// `may_act`; a human let the client hand their grant on, which its holder (and no
    /// one who merely got hold of the token) may then do for any actor.
    async fn check_may_act(&self, subject: &AccessTokenClaims, actor: &Actor, holds: bool) -> Result<(), OAuthError> {
        let allowed = if let Ok(id) = ClientId::parse(&subject.sub) {
            self.clients
                .get(&id)
                .await?
                .is_some_and(|client| client.may_act.contains(&actor.sub))
        } else if let (Some(grant_id), true) = (&subject.grant_id, holds) {
            self.identity.grant_status(grant_id).await?.delegable
        } else {
            false
        };
        if allowed {
            Ok(())
        } else {
            Err(OAuthError::InvalidGrant(
                "the subject has not allowed this actor to act for it (may_act)".into(),
            ))
        }
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

    /// Within the subject token's scope (a wider request is refused, not trimmed), what
    /// the actor may hold, and what the resource supports.
    fn scope(
        &self,
        subject: &AccessTokenClaims,
        actor: &Actor,
        request: &TokenExchangeRequest,
        audiences: &[String],
    ) -> Result<ScopeSet, OAuthError> {
        let held = ScopeSet::parse(&subject.scope).unwrap_or_default();
        if let Some(raw) = &request.scoping.scope {
            let requested = ScopeSet::parse(raw).map_err(|_| {
                OAuthError::InvalidScope("`scope` must be scope tokens separated by single spaces".into())
            })?;
            if !requested.is_subset(&held) {
                return Err(OAuthError::InvalidScope(
                    "a delegated token may not carry a scope its subject token does not".into(),
                ));
            }
        }
        self.resources
            .narrow(&held.intersection(&actor.scope), &request.scoping, audiences)
    }
}
