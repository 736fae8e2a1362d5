//! RFC 6749 §6 with OAuth 2.1 §4.3.1's rotation: the refresh token is checked against
//! its family (client, DPoP key, lifetime, idle timeout, reuse), the human's consent is
//! asked of identity-service (a revoked one kills the family's use), and only then is
//! the token rotated and a new access token minted: a refused request never burns the
//! client's token. `scope` may narrow what the family carries, never widen it.

use std::sync::Arc;

use super::request::{Presented, RefreshTokenRequest};
use super::{DpopProofs, Resources, dpop_required};
use crate::access_token::{Confirmation, Minted, TokenMinter, TokenRequest};
use crate::client_auth::ClientAuthenticator;
use crate::error::OAuthError;
use crate::peers::identity::IdentityClient;
use crate::refresh::RefreshTokens;

#[derive(Debug)]
pub struct RefreshTokenGrant {
    pub authenticator: Arc<ClientAuthenticator>,
    pub proofs: Arc<DpopProofs>,
    pub identity: Arc<IdentityClient>,
    pub resources: Arc<Resources>,
    pub minter: Arc<TokenMinter>,
    pub refresh: Arc<RefreshTokens>,
}

impl RefreshTokenGrant {
    pub async fn exchange(&self, request: RefreshTokenRequest, presented: Presented) -> Result<Minted, OAuthError> {
        let requested = self.resources.requested(&request.scoping)?;
        let client = self
            .authenticator
            .identify(presented.credentials, presented.client_id.as_deref())
            .await?;
        let jkt = self.proofs.key(&presented.dpop).await?;
        let now = shared::time::unix_now();
        let presented_token = self
            .refresh
            .check(&request.refresh_token, &client.client_id, now)
            .await?;
        let family = &presented_token.family;
        // RFC 9449 §5: a DPoP-bound family is refreshed only with a proof of its key.
        match (&family.jkt, &jkt) {
            (Some(bound), Some(proved)) if bound == proved => {}
            (Some(_), _) => {
                return Err(OAuthError::InvalidGrant(
                    "this refresh token is bound to a DPoP key; send a proof of it".into(),
                ));
            }
            (None, None) if client.requires_dpop => return Err(dpop_required()),
            (None, _) => {}
        }
        if !self.identity.grant_active(&family.grant_id).await? {
            return Err(OAuthError::InvalidGrant(
                "the human revoked the consent this refresh token rests on".into(),
            ));
        }
        let audiences = self.resources.approved(requested, &family.resources)?;
        let scope = self.resources.narrow(&family.scopes, &request.scoping, &audiences)?;
        let (family, rotated) = self.refresh.rotate(presented_token, now).await?;
        let mut minted = self.minter.mint(TokenRequest {
            subject: &family.subject,
            client_id: &family.client_id,
            scope,
            audiences,
            // A bound family binds every token to its key; an unbound one to the key this
            // request proved, if any.
            cnf: Confirmation {
                jkt: family.jkt.clone().or(jkt),
                x5t_s256: client.certificate_thumbprint,
            },
            grant_id: Some(&family.grant_id),
        })?;
        minted.refresh_token = Some(rotated);
        Ok(minted)
    }
}
