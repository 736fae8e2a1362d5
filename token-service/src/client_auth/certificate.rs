//! RFC 8705 §2: `tls_client_auth` (a certificate from the trusted CA with the registered
//! subject) and `self_signed_tls_client_auth` (exactly the registered certificate, or
//! one carrying a registered key).

use jsonwebtoken::jwk::JwkSet;

use crate::clients::{AuthMethod, Client, ClientKeys, PresentedCertificate};
use crate::error::OAuthError;

/// Client certificates, as the ingress forwards them.
#[derive(Debug, Default)]
pub struct MutualTls;

impl MutualTls {
    /// `chain_verified`: the ingress verified the chain to the client CA it trusts.
    pub fn verify(
        &self,
        client: &Client,
        certificate: &PresentedCertificate,
        chain_verified: bool,
        now: i64,
    ) -> Result<(), OAuthError> {
        if !certificate.valid_at(now) {
            return Err(OAuthError::InvalidClient(
                "the client certificate is expired or not yet valid",
            ));
        }
        let registered = client.certificate.as_ref().is_some_and(|b| certificate.matches(b));
        let matched = match client.auth_method {
            AuthMethod::TlsClientAuth => chain_verified && registered,
            AuthMethod::SelfSignedTlsClientAuth => {
                let by_key = match &client.keys {
                    Some(ClientKeys::Jwks(json)) => serde_json::from_str::<JwkSet>(json)
                        .is_ok_and(|set| set.keys.iter().any(|jwk| certificate.carries_key(jwk))),
                    _ => false,
                };
                registered || by_key
            }
            AuthMethod::ClientSecret | AuthMethod::PrivateKeyJwt | AuthMethod::Workload | AuthMethod::None => false,
        };
        if matched {
            Ok(())
        } else {
            tracing::info!(client_id = %client.client_id, "client authentication failed: certificate does not match");
            Err(OAuthError::InvalidClient(
                "the client certificate is not the one registered for this client",
            ))
        }
    }
}
