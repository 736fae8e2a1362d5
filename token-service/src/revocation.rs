//! RFC 7009 revocation, and the denylist it writes.
//!
//! §2.1: credentials, when sent, are checked first; then the token must have been
//! issued to the caller. A token of a confidential client is revoked only by that
//! client, authenticated (`invalid_client` otherwise); a token of another client is
//! refused with `unauthorized_client`. Public clients (agents, `none` clients, metadata
//! document clients without keys) revoke their own tokens with the token alone. A
//! refresh token takes its whole family with it (§2.1: and may take the access tokens).

use std::sync::Arc;

use shared::audit::Actor;
use shared::store::{Reachable, StoreError};
use shared::time::unix_now;

use crate::access_token::TokenMinter;
use crate::client_auth::{ClientAuthenticator, ClientCredentials};
use crate::clients::ClientId;
use crate::error::OAuthError;
use crate::refresh::RefreshTokens;

/// Revoked access tokens by `jti`, each remembered only until the token would expire.
#[async_trait::async_trait]
pub trait DenylistStore: Reachable + std::fmt::Debug {
    async fn deny(&self, jti: &str, until: i64) -> Result<(), StoreError>;
    async fn is_denied(&self, jti: &str) -> Result<bool, StoreError>;
}

/// A revocation request, as the edge parsed it.
#[derive(Debug)]
pub struct RevocationRequest {
    pub token: String,
    pub credentials: Option<ClientCredentials>,
    /// The `client_id` a public caller names, if it names one.
    pub client_id: Option<String>,
}

/// Who asks for the revocation.
#[derive(Debug)]
enum Caller {
    Authenticated(ClientId),
    /// A public client, which may name itself with `client_id` but proves nothing.
    Public(Option<String>),
}

#[derive(Debug)]
pub struct Revocation {
    pub authenticator: Arc<ClientAuthenticator>,
    pub refresh: Arc<RefreshTokens>,
    pub minter: Arc<TokenMinter>,
    pub denylist: Arc<dyn DenylistStore>,
}

impl Revocation {
    /// Revokes the token if the caller may; §2.2: an invalid, expired or foreign token
    /// is no error, there is just nothing to do.
    pub async fn revoke(&self, request: RevocationRequest) -> Result<(), OAuthError> {
        let caller = match request.credentials {
            Some(credentials) => {
                Caller::Authenticated(self.authenticator.authenticate(credentials).await?.client.client_id)
            }
            None => Caller::Public(request.client_id),
        };
        let token = request.token.as_str();
        if let Some(family) = self.refresh.current(token).await? {
            let actor = Actor::Client(&family.client_id);
            let confidential = self.authenticator.is_confidential(&family.client_id).await?;
            if let Err(refused) = may_revoke(&caller, &family.client_id, confidential) {
                shared::audit::record("refresh_revoked", actor, &family.subject, refused.code());
                return Err(refused);
            }
            return self.refresh.revoke(family, unix_now()).await;
        }
        let Ok(claims) = self.minter.verify(token) else {
            return Ok(());
        };
        let actor = match &caller {
            Caller::Authenticated(id) => Actor::Client(id.as_str()),
            Caller::Public(_) => Actor::Client(&claims.client_id),
        };
        let confidential = self.authenticator.is_confidential(&claims.client_id).await?;
        if let Err(refused) = may_revoke(&caller, &claims.client_id, confidential) {
            shared::audit::record("token_revoked", actor, &claims.sub, refused.code());
            return Err(refused);
        }
        if claims.exp > unix_now() {
            self.denylist.deny(&claims.jti, claims.exp).await?;
            shared::audit::record("token_revoked", actor, &claims.sub, "success");
        }
        Ok(())
    }
}

fn may_revoke(caller: &Caller, issued_to: &str, confidential: bool) -> Result<(), OAuthError> {
    match caller {
        Caller::Authenticated(id) if id.as_str() == issued_to => Ok(()),
        Caller::Authenticated(_) => Err(OAuthError::UnauthorizedClient(
            "this token was issued to another client",
        )),
        Caller::Public(_) if confidential => Err(OAuthError::InvalidClient(
            "this token was issued to a confidential client, which must authenticate to revoke it",
        )),
        Caller::Public(Some(named)) if named != issued_to => Err(OAuthError::UnauthorizedClient(
            "this token was issued to another client",
        )),
        Caller::Public(_) => Ok(()),
    }
}
