//! RFC 6749 §2.3.1: `client_secret_basic` and `client_secret_post`.

use protocol::secrets::SecretHasher;

use super::BAD_CREDENTIALS;
use crate::clients::{CLIENT_SECRET_CONTEXT, Client};
use crate::error::OAuthError;

/// Client secrets, kept only as keyed hashes.
#[derive(Debug)]
pub struct ClientSecrets {
    pub hasher: SecretHasher,
}

impl ClientSecrets {
    /// Every active secret is checked, so the time taken says nothing of which matched.
    pub fn verify(&self, client: &Client, secret: &str) -> Result<(), OAuthError> {
        let matched = client.secrets.iter().fold(false, |matched, stored| {
            self.hasher.verify(CLIENT_SECRET_CONTEXT, secret, &stored.hash) | matched
        });
        if !matched {
            tracing::info!(client_id = %client.client_id, "client authentication failed: wrong secret");
            return Err(OAuthError::InvalidClient(BAD_CREDENTIALS));
        }
        Ok(())
    }
}
