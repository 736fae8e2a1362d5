//! RFC 6749 §4.4: a confidential machine client authenticates and gets a token for
//! itself (RFC 9068 §2.2: `sub` is the client id). The token is bound to the client's
//! DPoP key when it sends a proof, and to its certificate when it authenticated by mTLS.

use std::sync::Arc;

use super::request::{ClientCredentialsRequest, Presented};
use super::{DpopProofs, Resources, dpop_required};
use crate::access_token::{Confirmation, Minted, TokenMinter, TokenRequest};
use crate::client_auth::ClientAuthenticator;
use crate::error::OAuthError;

#[derive(Debug)]
pub struct ClientCredentialsGrant {
    pub authenticator: Arc<ClientAuthenticator>,
    pub proofs: Arc<DpopProofs>,
    pub resources: Arc<Resources>,
    pub minter: Arc<TokenMinter>,
}

impl ClientCredentialsGrant {
    pub async fn exchange(
        &self,
        request: ClientCredentialsRequest,
        presented: Presented,
    ) -> Result<Minted, OAuthError> {
        let credentials = presented.credentials.ok_or(OAuthError::InvalidClient(
            "client authentication is required for client_credentials",
        ))?;
        let audiences = self.resources.requested(&request.scoping)?;
        let jkt = self.proofs.key(&presented.dpop).await?;
        let authenticated = self.authenticator.authenticate(credentials).await?;
        let client = &authenticated.client;
        if client.self_registered {
            // RFC 7591 §2: it registered for the authorization code flow only; a token on
            // its own authority is an operator's to give.
            return Err(OAuthError::UnauthorizedClient(
                "a self-registered client may not use client_credentials",
            ));
        }
        if client.requires_dpop && jkt.is_none() {
            return Err(dpop_required());
        }
        let scope = self
            .resources
            .narrow(&client.allowed_scopes, &request.scoping, &audiences)?;
        let id = client.client_id.as_str();
        self.minter.mint(TokenRequest {
            subject: id,
            client_id: id,
            scope,
            audiences,
            cnf: Confirmation {
                jkt,
                x5t_s256: authenticated.certificate_thumbprint.clone(),
            },
            grant_id: None,
        })
    }
}
