//! RFC 6749 §4.1.3 as OAuth 2.1 §4.1.3 tightens it: a code the authorization endpoint
//! issued, redeemed with **one** call to identity-service, which holds the code and
//! checks what it is bound to (client, redirect URI, PKCE verifier) and spends it. The
//! token is for the human (`sub` `usr_…`), carries the consent it rests on (`grant_id`,
//! so revoking the consent kills it), and its audiences are the resources the human
//! approved (RFC 8707 §2.2: a token request may name fewer, never others). A refresh
//! token starts its family (see [`crate::refresh`]), DPoP-bound when the token is.

use std::sync::Arc;

use super::request::{AuthorizationCodeRequest, Presented};
use super::{DpopProofs, Resources, dpop_required};
use crate::access_token::{Confirmation, Minted, TokenMinter, TokenRequest};
use crate::client_auth::ClientAuthenticator;
use crate::error::OAuthError;
use crate::peers::identity::{CodeRedemption, IdentityClient};
use crate::refresh::{NewFamily, RefreshTokens};

#[derive(Debug)]
pub struct AuthorizationCodeGrant {
    pub authenticator: Arc<ClientAuthenticator>,
    pub proofs: Arc<DpopProofs>,
    pub identity: Arc<IdentityClient>,
    pub resources: Arc<Resources>,
    pub minter: Arc<TokenMinter>,
    pub refresh: Arc<RefreshTokens>,
}

impl AuthorizationCodeGrant {
    pub async fn exchange(
        &self,
        request: AuthorizationCodeRequest,
        presented: Presented,
    ) -> Result<Minted, OAuthError> {
        let requested = self.resources.requested(&request.scoping)?;
        let client = self
            .authenticator
            .identify(presented.credentials, presented.client_id.as_deref())
            .await?;
        let jkt = self.proofs.key(&presented.dpop).await?;
        if client.requires_dpop && jkt.is_none() {
            return Err(dpop_required());
        }
        let grant = self
            .identity
            .redeem(CodeRedemption {
                code: request.code,
                client_id: client.client_id.clone(),
                redirect_uri: request.redirect_uri.unwrap_or_default(),
                code_verifier: request.code_verifier.unwrap_or_default(),
            })
            .await?;
        let audiences = self.resources.approved(requested, &grant.resources)?;
        let scope = self.resources.narrow(&grant.scopes, &request.scoping, &audiences)?;
        let mut minted = self.minter.mint(TokenRequest {
            subject: &grant.subject,
            client_id: &grant.client_id,
            scope,
            audiences,
            cnf: Confirmation {
                jkt: jkt.clone(),
                x5t_s256: client.certificate_thumbprint,
            },
            grant_id: Some(&grant.grant_id),
        })?;
        // The family carries what the human approved, not what this token narrowed it to.
        let family = NewFamily {
            client_id: &grant.client_id,
            subject: &grant.subject,
            grant_id: &grant.grant_id,
            scopes: &grant.scopes,
            resources: &grant.resources,
            jkt: jkt.as_deref(),
        };
        minted.refresh_token = Some(self.refresh.issue(family, shared::time::unix_now()).await?);
        Ok(minted)
    }
}
