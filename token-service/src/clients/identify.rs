//! Who a token request for a human's grant (authorization code, refresh token) comes
//! from: a confidential client authenticates as at any grant; a public client (OAuth
//! 2.1 §2.1: `token_endpoint_auth_method` `none`, or a client ID metadata document
//! with no keys) names itself with `client_id`, and proves nothing but what the grant
//! binds (the PKCE verifier, the refresh token, a DPoP key).

use actix_web::HttpRequest;

use super::auth::claimed_issuer;
use super::metadata_document::MetadataDocuments;
use super::private_key_jwt::{Asserting, verify_assertion};
use super::{AuthMethod, ClientCredentials, ClientId, ClientKeys, authenticate, presented_credentials};
use crate::error::OAuthError;
use crate::form::FormParams;
use crate::state::AppState;

/// The client a request is from, as far as it could prove it.
#[derive(Debug)]
pub struct Identified {
    pub client_id: String,
    /// The certificate a client authenticated with by mTLS: tokens bind to it.
    pub certificate_thumbprint: Option<String>,
    /// Every token must be DPoP-bound (an operator's rule for the client).
    pub requires_dpop: bool,
}

pub async fn identify(state: &AppState, request: &HttpRequest, form: &FormParams) -> Result<Identified, OAuthError> {
    if let Some(credentials) = presented_credentials(state, request, form)? {
        if let ClientCredentials::Assertion { client_id, assertion } = &credentials
            && let Some(id) = client_id.clone().or_else(|| claimed_issuer(assertion))
            && MetadataDocuments::is_document_id(&id)
        {
            return document_client_with_keys(state, &id, assertion).await;
        }
        let authenticated = authenticate(state, request, credentials).await?;
        return Ok(Identified {
            client_id: authenticated.client.client_id.to_string(),
            certificate_thumbprint: authenticated.certificate_thumbprint,
            requires_dpop: authenticated.client.requires_dpop,
        });
    }
    let client_id = form
        .get("client_id")
        .ok_or(OAuthError::InvalidClient("send client_id, or authenticate the client"))?;
    let public = |client_id: &str| Identified {
        client_id: client_id.to_owned(),
        certificate_thumbprint: None,
        requires_dpop: false,
    };
    if MetadataDocuments::is_document_id(client_id) {
        let document = state.documents.resolve(client_id).await.map_err(|refusal| {
            tracing::info!(%client_id, %refusal, "metadata document client refused at the token endpoint");
            OAuthError::InvalidClient("the client's metadata document is not usable")
        })?;
        if document.jwks_uri.is_some() {
            return Err(OAuthError::InvalidClient(
                "this client authenticates with private_key_jwt",
            ));
        }
        return Ok(public(client_id));
    }
    let client = match ClientId::parse(client_id) {
        Ok(id) => state.clients.get(&id).await?,
        Err(_) => None,
    };
    match client {
        Some(client) if client.auth_method == AuthMethod::None && !client.disabled => Ok(Identified {
            requires_dpop: client.requires_dpop,
            ..public(client_id)
        }),
        Some(client) if client.auth_method != AuthMethod::None => Err(OAuthError::InvalidClient(
            "this client is confidential: authenticate it",
        )),
        _ => Err(OAuthError::InvalidClient("client authentication failed")),
    }
}

/// A metadata document client that authenticates with `private_key_jwt`: the assertion
/// verified with a key from the document's `jwks_uri`, fetched SSRF-safe.
async fn document_client_with_keys(
    state: &AppState,
    client_id: &str,
    assertion: &str,
) -> Result<Identified, OAuthError> {
    let document = state.documents.resolve(client_id).await.map_err(|refusal| {
        tracing::info!(%client_id, %refusal, "metadata document client refused at the token endpoint");
        OAuthError::InvalidClient("the client's metadata document is not usable")
    })?;
    let Some(jwks_uri) = &document.jwks_uri else {
        return Err(OAuthError::InvalidClient(
            "this client's document registers no keys: it is public and sends no client assertion",
        ));
    };
    let keys = ClientKeys::JwksUri(jwks_uri.clone());
    let asserting = Asserting {
        id: client_id,
        keys: Some(&keys),
        registered: None,
    };
    verify_assertion(state, asserting, assertion, shared::jose::unix_now())
        .await
        .map_err(super::auth::presented_in_body)?;
    Ok(Identified {
        client_id: client_id.to_owned(),
        certificate_thumbprint: None,
        requires_dpop: false,
    })
}
