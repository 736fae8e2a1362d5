//! Everything a token-service handler reads, built once.

use std::sync::Arc;

use shared::jose::watch::KeyRingWatch;
use shared::secrets::SecretHasher;

use crate::access_token::AccessTokens;
use crate::identity::IdentityClient;
use crate::store::{ClientStore, DenylistStore};

#[derive(Debug)]
pub struct AppState {
    pub access_tokens: AccessTokens,
    pub identity: IdentityClient,
    pub keys: KeyRingWatch,
    pub clients: Arc<dyn ClientStore>,
    pub denylist: Arc<dyn DenylistStore>,
    pub hasher: SecretHasher,
}
