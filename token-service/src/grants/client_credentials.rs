//! RFC 6749 §4.4: a confidential machine client authenticates and gets a token for
//! itself (RFC 9068 §2.2: `sub` is the client id). The token is bound to the client's
//! DPoP key when it sends a proof, and to its certificate when it authenticated by mTLS.

use actix_web::HttpRequest;

use super::{dpop_key, mint, narrow_scope, requested_resources};
use crate::access_token::{Confirmation, Minted, TokenRequest};
use crate::clients::{authenticate, presented_credentials};
use crate::error::OAuthError;
use crate::form::FormParams;
use crate::state::AppState;

pub async fn exchange(state: &AppState, request: &HttpRequest, form: &FormParams) -> Result<Minted, OAuthError> {
    let credentials = presented_credentials(state, request, form)?.ok_or(OAuthError::InvalidClient(
        "client authentication is required for client_credentials",
    ))?;
    let audiences = requested_resources(state, form)?;
    let jkt = dpop_key(state, request).await?;
    let authenticated = authenticate(state, request, credentials).await?;
    let client = &authenticated.client;
    if client.self_registered {
        // RFC 7591 §2: it registered for the authorization code flow only; a token on its
        // own authority is an operator's to give.
        return Err(OAuthError::UnauthorizedClient(
            "a self-registered client may not use client_credentials",
        ));
    }
    if client.requires_dpop && jkt.is_none() {
        return Err(OAuthError::InvalidRequest(
            "this client must send a DPoP proof with every token request".into(),
        ));
    }
    let scope = narrow_scope(&client.allowed_scopes, form, &audiences, state)?;
    let id = client.client_id.as_str();
    mint(
        state,
        TokenRequest {
            subject: id,
            client_id: id,
            scope,
            audiences,
            cnf: Confirmation {
                jkt,
                x5t_s256: authenticated.certificate_thumbprint.clone(),
            },
            grant_id: None,
        },
    )
}
