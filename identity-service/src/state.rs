//! Everything a request handler (HTTP or gRPC) of identity-service reads, built once.

use std::sync::Arc;

use shared::jose::watch::KeyRingWatch;
use shared::scope::ScopeSet;
use shared::secrets::SecretHasher;

use crate::assertion::Assertions;
use crate::registration::RegistrationPolicy;
use crate::store::RegistrationStore;

#[derive(Debug)]
pub struct AppState {
    /// Public base URL and `iss` of every token.
    pub issuer: String,
    pub scopes_supported: ScopeSet,
    pub policy: RegistrationPolicy,
    pub assertions: Assertions,
    pub store: Arc<dyn RegistrationStore>,
    pub keys: KeyRingWatch,
    pub hasher: SecretHasher,
}

impl AppState {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}
