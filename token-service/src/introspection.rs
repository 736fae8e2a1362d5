//! RFC 7662 introspection. Callers authenticate as a client that is a resource server
//! (its `introspect` permission); any other client is refused with 403
//! `insufficient_scope`, since §4 leaves who may introspect to the server and token
//! contents are not every client's business. A token is inactive once expired, revoked,
//! its agent's registration revoked, the human's consent it rests on revoked, or its
//! client disabled or deleted.

use std::sync::Arc;

use shared::audit::Actor;
use shared::time::unix_now;

use crate::access_token::{AccessTokenClaims, TokenMinter};
use crate::client_auth::{ClientAuthenticator, ClientCredentials};
use crate::clients::{ClientId, ClientStore};
use crate::error::OAuthError;
use crate::peers::identity::IdentityClient;
use crate::revocation::DenylistStore;

/// Agents' subjects are registration ids; machine clients' are client ids.
const AGENT_SUBJECT_PREFIX: &str = "reg_";

/// What introspection says of a token.
#[derive(Debug)]
pub enum Introspected {
    /// §2.2: expired, revoked, malformed or foreign tokens are all just inactive.
    Inactive,
    Active(Box<AccessTokenClaims>),
}

#[derive(Debug)]
pub struct Introspection {
    pub authenticator: Arc<ClientAuthenticator>,
    pub minter: Arc<TokenMinter>,
    pub denylist: Arc<dyn DenylistStore>,
    pub identity: Arc<IdentityClient>,
    pub clients: Arc<dyn ClientStore>,
}

impl Introspection {
    /// `token` as the caller sent it (absent: `invalid_request`, once the caller is
    /// known to be a resource server).
    pub async fn introspect(
        &self,
        credentials: Option<ClientCredentials>,
        token: Option<&str>,
    ) -> Result<Introspected, OAuthError> {
        let credentials = credentials.ok_or(OAuthError::InvalidClient(
            "introspection requires client authentication",
        ))?;
        let client = self.authenticator.authenticate(credentials).await?.client;
        let audit = |subject: &str, outcome: &str| {
            shared::audit::record(
                "introspection",
                Actor::Client(client.client_id.as_str()),
                subject,
                outcome,
            );
        };
        if !client.introspect {
            audit("-", "insufficient_scope");
            return Err(OAuthError::InsufficientScope(
                "this client may not introspect tokens: it is not registered as a resource server",
            ));
        }
        let token = token.ok_or_else(|| OAuthError::InvalidRequest("missing required parameter `token`".into()))?;
        let Ok(claims) = self.minter.verify(token) else {
            audit("-", "inactive");
            return Ok(Introspected::Inactive);
        };
        let active = self.is_active(&claims).await?;
        audit(&claims.sub, if active { "active" } else { "inactive" });
        Ok(if active {
            Introspected::Active(Box::new(claims))
        } else {
            Introspected::Inactive
        })
    }

    /// Whether a token we issued, with a valid signature, is still live.
    async fn is_active(&self, claims: &AccessTokenClaims) -> Result<bool, OAuthError> {
        if claims.exp <= unix_now() || self.denylist.is_denied(&claims.jti).await? {
            return Ok(false);
        }
        // An agent's tokens die with its registration (provider revocation), not only by jti.
        if claims.sub.starts_with(AGENT_SUBJECT_PREFIX) && self.identity.revoked_at(&claims.sub).await?.is_some() {
            return Ok(false);
        }
        // A token resting on a human's consent dies with the consent.
        if let Some(grant_id) = &claims.grant_id
            && !self.identity.grant_active(grant_id).await?
        {
            return Ok(false);
        }
        // A machine client's tokens die with the client: disabled or deleted.
        if let Ok(id) = ClientId::parse(&claims.client_id) {
            return Ok(self.clients.get(&id).await?.is_some_and(|c| !c.disabled));
        }
        Ok(true)
    }
}
