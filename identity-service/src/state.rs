//! What the HTTP handlers of identity-service read, built once: the domain services and
//! what discovery publishes. It carries no behaviour of its own. Each service is also
//! registered on its own, so a handler that needs one service takes only that one.

use std::sync::Arc;

use shared::oauth::{ProtectedResource, TokenEndpointSettings};
use shared::scope::ScopeSet;

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
    /// The authorization endpoint, and the cookie of its human sessions.
    pub authorizations: Arc<Authorizations>,
    pub session: SessionCookie,
}

/// How the human's session cookie is sealed and scoped.
#[derive(Clone)]
pub struct SessionCookie {
    pub key: actix_web::cookie::Key,
    /// Where sessions live: the cookie carries only their id.
    pub store: crate::http::ServerSessions,
    /// `Secure` and `__Host-` (everywhere but development, which runs on plain http).
    pub secure: bool,
    pub ttl: std::time::Duration,
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

impl std::fmt::Debug for SessionCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCookie")
            .field("secure", &self.secure)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}
