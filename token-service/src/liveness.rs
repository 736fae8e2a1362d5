//! Whether a token we issued, with a valid signature, is still live: not expired, not
//! revoked by `jti`, and nothing it rests on ended. That is its agent's registration
//! (provider revocation), the human's consent, its client (disabled or deleted), and
//! for a delegated token the same for every token it was exchanged from and every actor
//! in its chain, so revoking anything upstream ends everything exchanged from it.
//! Nothing is written per token: each check reads what revocation wrote.

use std::sync::Arc;

use shared::time::unix_now;

use crate::access_token::{AccessTokenClaims, Act};
use crate::clients::{ClientId, ClientStore};
use crate::error::OAuthError;
use crate::peers::identity::IdentityClient;
use crate::revocation::DenylistStore;

/// Agents' subjects are registration ids; machine clients' are client ids.
const AGENT_SUBJECT_PREFIX: &str = "reg_";

#[derive(Debug)]
pub struct Liveness {
    pub denylist: Arc<dyn DenylistStore>,
    pub identity: Arc<IdentityClient>,
    pub clients: Arc<dyn ClientStore>,
}

impl Liveness {
    pub async fn is_active(&self, claims: &AccessTokenClaims) -> Result<bool, OAuthError> {
        if claims.exp <= unix_now() {
            return Ok(false);
        }
        for jti in std::iter::once(&claims.jti).chain(&claims.delegated_from) {
            if self.denylist.is_denied(jti).await? {
                return Ok(false);
            }
        }
        let actors: Vec<&Act> = claims.act.iter().flat_map(Act::chain).collect();
        let principals = std::iter::once(claims.sub.as_str()).chain(actors.iter().map(|a| a.sub.as_str()));
        let mut clients: Vec<&str> = vec![claims.client_id.as_str()];
        for principal in principals {
            // An agent's tokens die with its registration, not only by jti.
            if principal.starts_with(AGENT_SUBJECT_PREFIX) && self.identity.revoked_at(principal).await?.is_some() {
                return Ok(false);
            }
            clients.push(principal);
        }
        clients.extend(actors.iter().filter_map(|a| a.client_id.as_deref()));
        // A token resting on a human's consent dies with the consent.
        if let Some(grant_id) = &claims.grant_id
            && !self.identity.grant_active(grant_id).await?
        {
            return Ok(false);
        }
        // A machine client's tokens die with the client: disabled or deleted.
        clients.sort_unstable();
        clients.dedup();
        for id in clients.into_iter().filter_map(|c| ClientId::parse(c).ok()) {
            if self.clients.get(&id).await?.is_none_or(|c| c.disabled) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
