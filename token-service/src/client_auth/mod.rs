//! Client authentication at the token endpoint, one method per request, each a service
//! of its own behind [`ClientAuthenticator`]:
//!
//! - [`secret`]: RFC 6749 §2.3.1 secrets, `client_secret_basic` or
//!   `client_secret_post`, checked in constant time against each active secret;
//! - [`private_key_jwt`]: RFC 7523 §2.2, a JWT the client signs with a key from its
//!   registered `jwks` or its `jwks_uri`; `iss` = `sub` = the client, `aud` this token
//!   endpoint or the issuer, a bounded `exp`, a `jti` used once on every replica;
//! - [`certificate`]: RFC 8705 §2 `tls_client_auth` / `self_signed_tls_client_auth`,
//!   the certificate the ingress verified and forwarded in
//!   `token_endpoint.mtls.trusted_header`, never one from any other header and never
//!   when that setting is unset (the edge reads it);
//! - [`workload`]: workload identity federation, a token the client's workload already
//!   has (Kubernetes, SPIFFE, OIDC) as its client assertion, from a trusted issuer;
//! - [`identify`]: who a request for a human's grant comes from, public clients too.

pub mod certificate;
mod federated;
mod identify;
pub mod private_key_jwt;
pub mod secret;
pub mod workload;

use std::sync::Arc;

use protocol::oauth::{TokenEndpointSettings, auth_method};
use serde::Deserialize;

pub use self::certificate::MutualTls;
pub use self::identify::Identified;
pub use self::private_key_jwt::{Asserting, InlineKeys, PrivateKeyJwt};
pub use self::secret::ClientSecrets;
use self::workload::WorkloadIssuers;
use crate::clients::{AuthMethod, Client, ClientId, ClientStore, PresentedCertificate};
use crate::error::OAuthError;
use crate::registration::metadata_document::MetadataDocuments;

pub const BAD_CREDENTIALS: &str = "client authentication failed";

/// What a request presents to authenticate its client.
#[derive(Debug)]
pub enum ClientCredentials {
    Secret {
        client_id: String,
        secret: String,
        method: &'static str,
    },
    /// `private_key_jwt`; `client_id` is optional beside it (RFC 7521 §4.2). A workload's
    /// token comes this way too; `spiffe` when sent as
    /// draft-ietf-oauth-spiffe-client-auth's `jwt-spiffe` assertion type.
    Assertion {
        client_id: Option<String>,
        assertion: String,
        spiffe: bool,
    },
    /// A `client_id` with the TLS client certificate the ingress vouches for, and
    /// whether the ingress verified its chain to the client CA it trusts.
    Certificate {
        client_id: String,
        certificate: PresentedCertificate,
        chain_verified: bool,
    },
}

impl ClientCredentials {
    pub fn method(&self) -> &'static str {
        match self {
            Self::Secret { method, .. } => method,
            Self::Assertion { spiffe: true, .. } => auth_method::SPIFFE_JWT,
            Self::Assertion { .. } => auth_method::PRIVATE_KEY_JWT,
            Self::Certificate { .. } => auth_method::TLS_CLIENT_AUTH,
        }
    }
}

/// A client that proved who it is, and the certificate it proved it with, if any: a
/// token it gets is bound to that certificate (RFC 8705 §3).
#[derive(Debug)]
pub struct Authenticated {
    pub client: Client,
    pub certificate_thumbprint: Option<String>,
}

/// Client authentication: one store read, then the client's registered method.
#[derive(Debug)]
pub struct ClientAuthenticator {
    pub clients: Arc<dyn ClientStore>,
    /// The methods this server accepts.
    pub endpoint: TokenEndpointSettings,
    pub secrets: ClientSecrets,
    pub private_key_jwt: PrivateKeyJwt,
    pub mutual_tls: MutualTls,
    /// Clients whose id is the URL of their metadata document.
    pub documents: Arc<MetadataDocuments>,
    /// Trusted issuers of workload tokens (federated clients).
    pub workloads: Arc<WorkloadIssuers>,
}

#[derive(Debug, Deserialize)]
struct UnverifiedIssuer {
    iss: Option<String>,
}

/// RFC 7523 §3: the client an assertion claims to be, before its signature (which is
/// what makes the claim count) is checked.
fn claimed_issuer(assertion: &str) -> Option<String> {
    jsonwebtoken::dangerous::insecure_decode_claims::<UnverifiedIssuer>(assertion)
        .ok()
        .and_then(|c| c.iss)
}

/// The client credentials claim to be: the `client_id` sent, or (RFC 7523 §3) a client
/// assertion's issuer; the check that follows is what makes the claim count.
fn claimed_client(credentials: &ClientCredentials) -> Result<String, OAuthError> {
    Ok(match credentials {
        ClientCredentials::Secret { client_id, .. } | ClientCredentials::Certificate { client_id, .. } => {
            client_id.clone()
        }
        ClientCredentials::Assertion {
            client_id, assertion, ..
        } => match client_id {
            Some(id) => id.clone(),
            None => {
                let issuer = claimed_issuer(assertion)
                    .ok_or(OAuthError::InvalidClient("the client assertion names no issuer"))?;
                if ClientId::parse(&issuer).is_err() && issuer.contains("://") {
                    return Err(OAuthError::InvalidClient(
                        "the client assertion's iss is neither a client_id nor a trusted workload issuer",
                    ));
                }
                issuer
            }
        },
    })
}

/// A failure of credentials the client sent outside the `Authorization` header.
fn presented_in_body(error: OAuthError) -> OAuthError {
    match error {
        OAuthError::InvalidClient(reason) => OAuthError::InvalidClientCredentials(reason),
        other => other,
    }
}

impl ClientAuthenticator {
    /// Checks credentials against the stored client (one store read). Unknown clients
    /// and wrong credentials fail alike; a disabled client fails after its credentials
    /// check. Only a failure of the `Authorization` header is a 401 with a `Basic`
    /// challenge.
    pub async fn authenticate(&self, credentials: ClientCredentials) -> Result<Authenticated, OAuthError> {
        let in_header = credentials.method() == auth_method::CLIENT_SECRET_BASIC;
        let checked = self.check(credentials).await;
        if in_header {
            checked
        } else {
            checked.map_err(presented_in_body)
        }
    }

    async fn check(&self, credentials: ClientCredentials) -> Result<Authenticated, OAuthError> {
        if let ClientCredentials::Assertion {
            client_id,
            assertion,
            spiffe,
        } = &credentials
        {
            if let Some(issuer) = self.workloads.claimed_by(assertion) {
                return self.federated(issuer, client_id.as_deref(), assertion, *spiffe).await;
            }
            if *spiffe {
                return Err(OAuthError::InvalidClient(
                    "the JWT-SVID is of no issuer or trust domain this server trusts",
                ));
            }
        }
        let claimed_id = claimed_client(&credentials)?;
        let client = self.registered(&claimed_id).await?;
        let Some(client) = client else {
            tracing::info!(client_id = %claimed_id, "client authentication failed: unknown client");
            return Err(OAuthError::InvalidClient(BAD_CREDENTIALS));
        };
        self.check_method(&client, credentials.method())?;
        let now = shared::time::unix_now();
        let certificate_thumbprint = match credentials {
            ClientCredentials::Secret { secret, .. } => {
                self.secrets.verify(&client, &secret)?;
                None
            }
            ClientCredentials::Assertion { assertion, .. } => {
                self.private_key_jwt
                    .verify(Asserting::registered(&client), &assertion, now)
                    .await?;
                None
            }
            ClientCredentials::Certificate {
                certificate,
                chain_verified,
                ..
            } => {
                self.mutual_tls.verify(&client, &certificate, chain_verified, now)?;
                Some(certificate.x5t_s256)
            }
        };
        if client.disabled {
            return Err(OAuthError::InvalidClient("this client is disabled"));
        }
        Ok(Authenticated {
            client,
            certificate_thumbprint,
        })
    }

    /// The registered client `client_id` names, if it names one.
    async fn registered(&self, client_id: &str) -> Result<Option<Client>, OAuthError> {
        Ok(match ClientId::parse(client_id) {
            Ok(id) => self.clients.get(&id).await?,
            Err(_) => None,
        })
    }

    /// The method presented must be the one the client registered, and enabled here.
    fn check_method(&self, client: &Client, method: &str) -> Result<(), OAuthError> {
        let registered = match client.auth_method {
            AuthMethod::ClientSecret => {
                [auth_method::CLIENT_SECRET_BASIC, auth_method::CLIENT_SECRET_POST].contains(&method)
            }
            AuthMethod::PrivateKeyJwt => method == auth_method::PRIVATE_KEY_JWT,
            AuthMethod::TlsClientAuth | AuthMethod::SelfSignedTlsClientAuth => method == auth_method::TLS_CLIENT_AUTH,
            AuthMethod::Workload => {
                return Err(OAuthError::InvalidClient(
                    "this client authenticates with its workload's token, and this assertion is not from a trusted workload issuer",
                ));
            }
            // A public client has nothing to present; see `identify`.
            AuthMethod::None => false,
        };
        if !registered {
            tracing::info!(client_id = %client.client_id, method, "client authentication failed: not the client's method");
            return Err(OAuthError::InvalidClient(
                "this client is registered for another authentication method",
            ));
        }
        if !self.endpoint.accepts(client.auth_method.as_str()) {
            return Err(OAuthError::InvalidClient(
                "this client's authentication method is not enabled on this server",
            ));
        }
        Ok(())
    }

    /// Whether the client a token was issued to must authenticate: a registered client
    /// with credentials, or a metadata document client with keys. Agents, `none`
    /// clients and clients no longer known are public (a deleted client's tokens are
    /// dead anyway).
    pub async fn is_confidential(&self, issued_to: &str) -> Result<bool, OAuthError> {
        if ClientId::parse(issued_to).is_ok() {
            let client = self.registered(issued_to).await?;
            return Ok(client.is_some_and(|c| c.auth_method != AuthMethod::None));
        }
        if MetadataDocuments::is_document_id(issued_to) {
            return Ok(self
                .documents
                .resolve(issued_to)
                .await
                .is_ok_and(|document| document.jwks_uri.is_some()));
        }
        Ok(false)
    }
}
