//! What the HTTP handlers of identity-service read, built once: the domain services and
//! what discovery publishes. It carries no behaviour of its own. Each service is also
//! registered on its own, so a handler that needs one service takes only that one.

use std::sync::Arc;

use protocol::oauth::{ProtectedResource, TokenEndpointSettings};
use protocol::scope::ScopeSet;

use crate::authorize::Authorizations;
use crate::claim::ClaimCeremony;
use crate::providers::ProviderTrust;
use crate::ratelimit::RateLimits;
use crate::registration::{KeyBinding, Registrations};

#[derive(Debug)]
pub struct AppState {
    /// Public base URL and `iss` of every token.
    pub issuer: String,
    pub registrations: Arc<Registrations>,
    pub claims: Arc<ClaimCeremony>,
    pub trust: Arc<ProviderTrust>,
    /// The DPoP key a registration request proves.
    pub binding: KeyBinding,
    /// Per-client limits on registration (the ceremony holds its own).
    pub limits: RateLimits,
    /// What discovery publishes.
    pub discovery: Discovery,
    /// The authorization endpoint.
    pub authorizations: Arc<Authorizations>,
}

/// The parts of the discovery documents that are not some service's own rules.
#[derive(Debug)]
pub struct Discovery {
    pub scopes_supported: ScopeSet,
    pub protected_resources: Vec<ProtectedResource>,
    /// token-service's token endpoint capabilities, as discovery describes them.
    pub token_endpoint: TokenEndpointSettings,
    /// Client ID metadata documents are accepted (token-service resolves them).
    pub client_id_metadata_documents: bool,
}

impl AppState {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}
