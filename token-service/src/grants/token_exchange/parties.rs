//! The parties of a token exchange and what binds them: who may ask (the holder or
//! the actor), what proof a bound token needs, and the delegation the new token records.

use protocol::scope::ScopeSet;

use super::DelegationSettings;
use crate::access_token::{AccessTokenClaims, Act, Delegation};
use crate::client_auth::Authenticated;
use crate::error::OAuthError;

/// The subject token, as claims, and whether it was the agent's identity assertion.
pub(super) struct Subject {
    pub claims: AccessTokenClaims,
    pub by_assertion: bool,
}

/// Agents' subjects are registration ids.
pub(super) const AGENT_SUBJECT_PREFIX: &str = "reg_";

/// Who asks: an authenticated client, or an agent holding its own credential.
pub(super) struct Requester {
    pub client_id: String,
    pub requires_dpop: bool,
    /// What it may hold when it acts for itself; `None` for an agent, which names its
    /// actor.
    pub scopes: Option<ScopeSet>,
    /// The certificate it authenticated over (RFC 8705), if it did.
    pub certificate: Option<String>,
}

impl Requester {
    pub fn client(authenticated: Authenticated) -> Self {
        Self {
            client_id: authenticated.client.client_id.to_string(),
            requires_dpop: authenticated.client.requires_dpop,
            scopes: Some(authenticated.client.allowed_scopes),
            certificate: authenticated.certificate_thumbprint,
        }
    }

    /// Without client credentials, only an agent handing on its own access asks: by
    /// its identity assertion (as the jwt-bearer grant takes it), or by its access
    /// token bound to a DPoP key it proves. Anyone else must authenticate.
    pub fn agent(subject: &Subject, proved: Option<&String>) -> Result<Self, OAuthError> {
        let claims = &subject.claims;
        let bound = claims.cnf.as_ref().and_then(|cnf| cnf.jkt.as_ref());
        let holds = claims.sub.starts_with(AGENT_SUBJECT_PREFIX)
            && claims.act.is_none()
            && (subject.by_assertion || bound.is_some_and(|key| proved == Some(key)));
        if !holds {
            return Err(OAuthError::InvalidClient(
                "token exchange requires client authentication (an agent may present its identity assertion as the subject_token)",
            ));
        }
        Ok(Self {
            client_id: claims.client_id.clone(),
            requires_dpop: false,
            scopes: None,
            certificate: None,
        })
    }
}

/// The party a delegated token is for: who it is, and what it may hold.
pub(super) struct Actor {
    pub sub: String,
    pub client_id: String,
    /// What the actor may carry: its own token's scope, or its client's scopes.
    pub scope: ScopeSet,
    /// The key its own token is bound to, which the delegated token is bound to too.
    pub jkt: Option<String>,
    /// Its own token's end, past which it acts for no one.
    pub exp: Option<i64>,
}

/// The requesting client must hold the subject token (the client it was issued to, or
/// its current actor) or be the actor. Whether it holds it, when it may ask.
pub(super) fn check_holder(requester: &str, subject: &AccessTokenClaims, actor: &Actor) -> Result<bool, OAuthError> {
    let current_actor = subject.act.as_ref().and_then(|act| act.client_id.as_deref());
    let holds = requester == subject.client_id || Some(requester) == current_actor;
    if holds || requester == actor.client_id {
        Ok(holds)
    } else {
        Err(OAuthError::UnauthorizedClient(
            "only the subject token's holder or the actor may exchange it",
        ))
    }
}

/// RFC 8705 §3: a subject token bound to a certificate is exchanged over it alone.
pub(super) fn check_certificate(subject: &AccessTokenClaims, presented: Option<&String>) -> Result<(), OAuthError> {
    let bound = subject.cnf.as_ref().and_then(|cnf| cnf.x5t_s256.as_ref());
    if bound.is_some_and(|x5t| presented != Some(x5t)) {
        return Err(OAuthError::InvalidRequest(
            "the subject_token is bound to a certificate; exchange it over that certificate".into(),
        ));
    }
    Ok(())
}

/// RFC 9449: a subject token bound to a DPoP key needs a proof of that key; else an
/// actor token bound to one needs a proof of its key.
pub(super) fn check_proof(
    subject: &AccessTokenClaims,
    actor: &Actor,
    proved: Option<&String>,
) -> Result<(), OAuthError> {
    let subject_key = subject.cnf.as_ref().and_then(|cnf| cnf.jkt.as_ref());
    if let Some(required) = subject_key.or(actor.jkt.as_ref())
        && proved != Some(required)
    {
        return Err(OAuthError::InvalidRequest(
            "a token of this exchange is bound to a DPoP key; send a DPoP proof of it".into(),
        ));
    }
    Ok(())
}

/// The new token's actors (the new one outermost), the tokens it came from, and its
/// end: no later than the subject's, the actor token's, or `max_lifetime` from `now`.
/// A chain past `max_depth` is refused.
pub(super) fn delegation(
    subject: &AccessTokenClaims,
    actor: &Actor,
    limits: &DelegationSettings,
    now: i64,
) -> Result<Delegation, OAuthError> {
    let depth = subject.act.as_ref().map_or(0, Act::depth) + 1;
    if depth > limits.max_depth {
        return Err(OAuthError::InvalidGrant(format!(
            "the chain of actors would be {depth} deep; delegation.max_depth is {}",
            limits.max_depth
        )));
    }
    let lifetime = i64::try_from(limits.max_lifetime.as_secs()).unwrap_or(i64::MAX);
    let not_after = [Some(subject.exp), actor.exp, Some(now.saturating_add(lifetime))]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(subject.exp);
    let mut delegated_from = subject.delegated_from.clone();
    delegated_from.push(subject.jti.clone());
    Ok(Delegation {
        act: Act {
            sub: actor.sub.clone(),
            client_id: Some(actor.client_id.clone()),
            act: subject.act.clone().map(Box::new),
        },
        delegated_from,
        not_after,
    })
}
