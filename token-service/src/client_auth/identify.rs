//! Who a token request for a human's grant (authorization code, refresh token) comes
//! from: a confidential client authenticates as at any grant; a public client (OAuth
//! 2.1 §2.1: `token_endpoint_auth_method` `none`, or a client ID metadata document
//! with no keys) names itself with `client_id`, and proves nothing but what the grant
//! binds (the PKCE verifier, the refresh token, a DPoP key).

use super::{Asserting, AuthMethod, ClientAuthenticator, ClientCredentials, claimed_issuer, presented_in_body};
use crate::clients::ClientKeys;
use crate::error::OAuthError;
use crate::registration::metadata_document::{DocumentClient, MetadataDocuments};

/// The client a request is from, as far as it could prove it.
#[derive(Debug)]
pub struct Identified {
    pub client_id: String,
    /// The certificate a client authenticated with by mTLS: tokens bind to it.
    pub certificate_thumbprint: Option<String>,
    /// Every token must be DPoP-bound (an operator's rule for the client).
    pub requires_dpop: bool,
}

impl Identified {
    fn public(client_id: &str) -> Self {
        Self {
            client_id: client_id.to_owned(),
            certificate_thumbprint: None,
            requires_dpop: false,
        }
    }
}

impl ClientAuthenticator {
    /// The client behind `credentials`, or the public client `client_id` names.
    pub async fn identify(
        &self,
        credentials: Option<ClientCredentials>,
        client_id: Option<&str>,
    ) -> Result<Identified, OAuthError> {
        if let Some(credentials) = credentials {
            if let ClientCredentials::Assertion {
                client_id, assertion, ..
            } = &credentials
                && self.workloads.claimed_by(assertion).is_none()
                && let Some(id) = client_id.clone().or_else(|| claimed_issuer(assertion))
                && MetadataDocuments::is_document_id(&id)
            {
                return self.document_client_with_keys(&id, assertion).await;
            }
            let authenticated = self.authenticate(credentials).await?;
            return Ok(Identified {
                client_id: authenticated.client.client_id.to_string(),
                certificate_thumbprint: authenticated.certificate_thumbprint,
                requires_dpop: authenticated.client.requires_dpop,
            });
        }
        let client_id = client_id.ok_or(OAuthError::InvalidClient("send client_id, or authenticate the client"))?;
        if MetadataDocuments::is_document_id(client_id) {
            if self.document(client_id).await?.jwks_uri.is_some() {
                return Err(OAuthError::InvalidClient(
                    "this client authenticates with private_key_jwt",
                ));
            }
            return Ok(Identified::public(client_id));
        }
        match self.registered(client_id).await? {
            Some(client) if client.auth_method == AuthMethod::None && !client.disabled => Ok(Identified {
                requires_dpop: client.requires_dpop,
                ..Identified::public(client_id)
            }),
            Some(client) if client.auth_method != AuthMethod::None => Err(OAuthError::InvalidClient(
                "this client is confidential: authenticate it",
            )),
            _ => Err(OAuthError::InvalidClient("client authentication failed")),
        }
    }

    async fn document(&self, client_id: &str) -> Result<std::sync::Arc<DocumentClient>, OAuthError> {
        self.documents.resolve(client_id).await.map_err(|refusal| {
            tracing::info!(%client_id, %refusal, "metadata document client refused at the token endpoint");
            OAuthError::InvalidClient("the client's metadata document is not usable")
        })
    }

    /// A metadata document client that authenticates with `private_key_jwt`: the
    /// assertion verified with a key from the document's `jwks_uri`, fetched SSRF-safe.
    async fn document_client_with_keys(&self, client_id: &str, assertion: &str) -> Result<Identified, OAuthError> {
        let document = self.document(client_id).await?;
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
        self.private_key_jwt
            .verify(asserting, assertion, shared::time::unix_now())
            .await
            .map_err(presented_in_body)?;
        Ok(Identified::public(client_id))
    }
}
