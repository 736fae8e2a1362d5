//! Everything a token-service handler reads, built once.

use std::sync::Arc;

use shared::jose::dpop::DpopVerifier;
use shared::jose::remote::RemoteKeys;
use shared::jose::watch::KeyRingWatch;
use shared::oauth::{ProtectedResource, TokenEndpointSettings};
use shared::secrets::SecretHasher;
use shared::store::replay::ReplayCache;

use crate::access_token::AccessTokens;
use crate::clients::InlineKeys;
use crate::clients::metadata_document::MetadataDocuments;
use crate::clients::registration::RegistrationRules;
use crate::identity::IdentityClient;
use crate::refresh::RefreshTokens;
use crate::store::{ClientStore, DenylistStore};

#[derive(Debug)]
pub struct AppState {
    pub issuer: String,
    pub access_tokens: AccessTokens,
    pub identity: IdentityClient,
    /// Our identity assertions, verified here at the exchange with `keys`.
    pub assertions: shared::jose::assertion::AssertionRules,
    /// The published keys (verification) and the active one (signing), from jwks-service.
    pub keys: KeyRingWatch,
    pub clients: Arc<dyn ClientStore>,
    pub denylist: Arc<dyn DenylistStore>,
    /// Client assertion and DPoP proof `jti`s, single use on every replica.
    pub replay: Arc<dyn ReplayCache>,
    pub hasher: SecretHasher,
    pub endpoint: TokenEndpointSettings,
    /// `endpoint.auth_signing_algs`, parsed.
    pub assertion_algs: Vec<shared::jose::alg::JwsAlg>,
    /// The URLs clients address the token endpoint by: the issuer's, and the mTLS
    /// alias when there is one. DPoP `htu` and client assertion `aud` name one of them.
    pub token_endpoint_urls: Vec<String>,
    /// `None` when DPoP is disabled: proofs are then ignored (RFC 9449 §5).
    pub dpop: Option<DpopVerifier>,
    /// `jwks_uri` key sets of `private_key_jwt` clients, fetched SSRF-safe.
    pub client_keys: RemoteKeys,
    pub inline_keys: InlineKeys,
    pub resources: Vec<ProtectedResource>,
    pub leeway_secs: u64,
    /// Who may register a client at `/oauth2/register`.
    pub client_registration: RegistrationRules,
    /// Clients whose id is the URL of their metadata document.
    pub documents: MetadataDocuments,
    pub refresh: RefreshTokens,
}
