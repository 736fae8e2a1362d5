use std::time::Duration;

use protocol::oauth::{ProtectedResource, TokenEndpointSettings};
use serde::{Deserialize, Serialize};
use shared::keys::remote::RemoteKeySettings;
use shared::serve::CommonSettings;

use shared::settings::{PeerSettings, SecretSetting, ServiceSettings, SettingsError};

pub use crate::grants::token_exchange::DelegationSettings;
pub use crate::registration::ClientRegistrationPolicy;

/// The name this service's internal certificate is issued to.
pub const SERVICE_NAME: &str = "token-service";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// Profile, ports, store, internal TLS, drain, telemetry and metrics: the same keys
    /// in every service.
    #[serde(flatten)]
    pub common: CommonSettings,
    /// Public base URL of the deployment: the `iss` of every access token.
    pub public_base_url: String,
    /// Which address a request came from: the peer, or what trusted proxies added.
    #[serde(default)]
    pub client_address: shared::client_address::ClientAddressSettings,
    /// identity-service's internal gRPC port (`ValidateAssertion`).
    pub identity: PeerSettings,
    /// jwks-service's internal gRPC port (signing key stream).
    pub jwks: PeerSettings,
    /// Pepper for keyed hashes of client secrets; required in production.
    pub hash_pepper: SecretSetting,
    pub access_token: AccessTokenSettings,
    /// How our identity assertions are held when token-service verifies them at the
    /// exchange: the same keys and values as identity-service's `assertion` section.
    #[serde(default)]
    pub assertion: AssertionSettings,
    /// What the token endpoint accepts: client authentication methods, DPoP, mTLS.
    /// identity-service's discovery document is written from the same section, so
    /// both services must be given the same one.
    #[serde(default)]
    pub token_endpoint: TokenEndpointSettings,
    /// Resource servers a token may be issued for (RFC 8707 `resource`), the same list
    /// identity-service serves RFC 9728 metadata from.
    #[serde(default)]
    pub protected_resources: Vec<ProtectedResource>,
    /// How `private_key_jwt` clients' `jwks_uri` sets are fetched and cached.
    #[serde(default)]
    pub client_keys: RemoteKeySettings,
    /// Who may register a client at `/oauth2/register` (RFC 7591), and with what scopes.
    #[serde(default)]
    pub client_registration: ClientRegistrationSettings,
    #[serde(default)]
    pub clients: ClientSettings,
    /// Refresh tokens of the authorization code flow.
    #[serde(default)]
    pub refresh_tokens: crate::refresh::RefreshSettings,
    /// Issuers whose workload tokens authenticate federated clients (Kubernetes
    /// service-account issuers, SPIFFE trust domains, other OpenID Providers).
    #[serde(default)]
    pub workload_identity: crate::client_auth::workload::settings::WorkloadIdentitySettings,
    /// RFC 8693 token exchange: how deep a chain of actors may go, and how long a
    /// delegated token lives at most.
    #[serde(default)]
    pub delegation: DelegationSettings,
}

/// Clients that are not registered here at all.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ClientSettings {
    /// Client ID metadata documents: https client ids whose document we fetch. Their
    /// scopes are bounded by `client_registration.scopes`, like self-registered clients.
    #[serde(default)]
    pub metadata_documents: crate::registration::metadata_document::MetadataDocumentSettings,
}

/// Dynamic client registration (RFC 7591): MCP clients register themselves.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientRegistrationSettings {
    pub policy: ClientRegistrationPolicy,
    /// RFC 7591 §3: the bearer token a registration must present under `policy = "token"`.
    #[serde(default)]
    pub initial_access_token: SecretSetting,
    /// The most a self-registered client's tokens may carry; its `scope` narrows it.
    pub scopes: Vec<String>,
    /// Registrations per client address, shared by every replica through the store.
    pub per_ip: shared::ratelimit::Limit,
    /// Removed: `client_address.trusted_proxy_hops` replaced it. Kept only so a
    /// deployment that still sets it fails at start instead of silently counting every
    /// client under the ingress's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_forwarded_for: Option<bool>,
}

impl Default for ClientRegistrationSettings {
    fn default() -> Self {
        Self {
            policy: ClientRegistrationPolicy::Open,
            initial_access_token: SecretSetting::default(),
            scopes: vec!["agent:read".into(), "agent:write".into()],
            per_ip: shared::ratelimit::Limit {
                max: 20,
                window: Duration::from_secs(3600),
            },
            trust_forwarded_for: None,
        }
    }
}

/// The assertion rules token-service enforces itself (identity-service's section has
/// the same names, so one ConfigMap entry sets both).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AssertionSettings {
    /// Longest `exp - iat` accepted.
    #[serde(with = "humantime_serde")]
    pub max_lifetime: Duration,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`.
    #[serde(with = "humantime_serde")]
    pub leeway: Duration,
}

impl Default for AssertionSettings {
    fn default() -> Self {
        Self {
            max_lifetime: Duration::from_secs(3600),
            leeway: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessTokenSettings {
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
    /// `aud` of every access token (RFC 9068 §3): the resource servers' identifier.
    /// Empty means the issuer.
    pub audience: String,
    /// Clock skew tolerated when verifying tokens at introspection and revocation.
    #[serde(with = "humantime_serde")]
    pub leeway: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            common: CommonSettings::allowing(&["identity-service", "agentctl"]),
            public_base_url: "http://127.0.0.1:8080".into(),
            client_address: Default::default(),
            identity: PeerSettings::new("http://identity-service:50051"),
            jwks: PeerSettings::new("http://jwks-service:50051"),
            hash_pepper: SecretSetting::default(),
            access_token: AccessTokenSettings {
                ttl: Duration::from_secs(15 * 60),
                audience: String::new(),
                leeway: Duration::from_secs(60),
            },
            assertion: AssertionSettings::default(),
            token_endpoint: TokenEndpointSettings::default(),
            protected_resources: Vec::new(),
            client_keys: RemoteKeySettings::default(),
            client_registration: ClientRegistrationSettings::default(),
            clients: ClientSettings::default(),
            refresh_tokens: crate::refresh::RefreshSettings::default(),
            workload_identity: Default::default(),
            delegation: DelegationSettings::default(),
        }
    }
}

impl ServiceSettings for Settings {
    fn validate(&self) -> Result<(), SettingsError> {
        if self.public_base_url.is_empty() || self.public_base_url.ends_with('/') {
            return Err(SettingsError::invalid(
                "public_base_url",
                "must be the issuer URL, with no trailing slash",
            ));
        }
        self.identity.validate("identity")?;
        self.jwks.validate("jwks")?;
        self.hash_pepper.validate("hash_pepper", self.common.profile)?;
        let ttl = self.access_token.ttl;
        if ttl < Duration::from_secs(30) || ttl > Duration::from_secs(24 * 3600) {
            return Err(SettingsError::invalid(
                "access_token.ttl",
                "must be between 30s and 24h",
            ));
        }
        self.token_endpoint.validate()?;
        protocol::oauth::validate_resources(&self.protected_resources)?;
        let registration = &self.client_registration;
        protocol::scope::ScopeSet::from_tokens(&registration.scopes)
            .map_err(|e| SettingsError::invalid("client_registration.scopes", e.to_string()))?;
        if registration.policy == ClientRegistrationPolicy::Token && !registration.initial_access_token.is_configured()
        {
            return Err(SettingsError::invalid(
                "client_registration.initial_access_token",
                "required when client_registration.policy is \"token\"",
            ));
        }
        shared::client_address::refuse_replaced(
            "client_registration.trust_forwarded_for",
            registration.trust_forwarded_for.is_some(),
        )?;
        self.refresh_tokens.validate()?;
        if !(1..=10).contains(&self.delegation.max_depth) {
            return Err(SettingsError::invalid(
                "delegation.max_depth",
                "must be between 1 and 10",
            ));
        }
        if self.delegation.max_lifetime < Duration::from_secs(10) {
            return Err(SettingsError::invalid(
                "delegation.max_lifetime",
                "must be at least 10s",
            ));
        }
        self.common.shutdown.validate()?;
        self.common.telemetry.validate()?;
        // Last, so the rules above report first; production refuses plaintext gRPC.
        self.common.internal_tls.validate(self.common.profile)?;
        Ok(())
    }
}

impl Settings {
    pub fn audience(&self) -> &str {
        if self.access_token.audience.is_empty() {
            &self.public_base_url
        } else {
            &self.access_token.audience
        }
    }

    /// The token endpoint's URL as clients address it: `htu` of DPoP proofs, and an
    /// `aud` client assertions may carry.
    pub fn token_endpoint_url(&self) -> String {
        format!("{}/oauth2/token", self.public_base_url)
    }
}
