//! RFC 7662 introspection. Callers authenticate as a client that is a resource server
//! (its `introspect` permission); any other client is refused with 403
//! `insufficient_scope`, since §4 leaves who may introspect to the server and token
//! contents are not every client's business. A token is inactive once [`Liveness`] says
//! so: expired, revoked, or something it rests on ended.

use std::sync::Arc;

use shared::audit::Actor;

use crate::access_token::{AccessTokenClaims, TokenMinter};
use crate::client_auth::{ClientAuthenticator, ClientCredentials};
use crate::error::OAuthError;
use crate::liveness::Liveness;

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
    pub liveness: Arc<Liveness>,
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
        let active = self.liveness.is_active(&claims).await?;
        audit(&claims.sub, if active { "active" } else { "inactive" });
        Ok(if active {
            Introspected::Active(Box::new(claims))
        } else {
            Introspected::Inactive
        })
    }
}
