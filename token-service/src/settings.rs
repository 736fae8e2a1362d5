use std::time::Duration;

use serde::{Deserialize, Serialize};
use shared::jose::remote::RemoteKeySettings;
use shared::oauth::{ProtectedResource, TokenEndpointSettings};
use shared::tls::InternalTlsSettings;

/// The name this service's internal certificate is issued to.
pub const SERVICE_NAME: &str = "token-service";
use shared::settings::{
    ListenSettings, PeerSettings, Profile, SecretSetting, ServiceSettings, SettingsError, StoreSettings,
};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub profile: Profile,
    /// Public base URL of the deployment: the `iss` of every access token.
    pub public_base_url: String,
    pub http: ListenSettings,
    /// Internal port: `ClientAdmin` for operators.
    pub grpc: ListenSettings,
    pub store: StoreSettings,
    /// Mutual TLS on the internal gRPC port and towards peers (required in production).
    pub internal_tls: InternalTlsSettings,
    /// The drain schedule on SIGTERM.
    #[serde(default)]
    pub shutdown: shared::shutdown::ShutdownSettings,
    /// Logs and trace export.
    #[serde(default)]
    pub telemetry: shared::telemetry::TelemetrySettings,
    /// Where `/metrics` is served (internal; never through the ingress).
    #[serde(default)]
    pub metrics: shared::telemetry::metrics::MetricsSettings,
    /// identity-service's internal gRPC port (`ValidateAssertion`).
    pub identity: PeerSettings,
    /// jwks-service's internal gRPC port (signing key stream).
    pub jwks: PeerSettings,
    /// Pepper for keyed hashes of client secrets; required in production.
    pub hash_pepper: SecretSetting,
    pub access_token: AccessTokenSettings,
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
            profile: Profile::Production,
            public_base_url: "http://127.0.0.1:8080".into(),
            http: ListenSettings::new("0.0.0.0", 8080),
            grpc: ListenSettings::new("0.0.0.0", 50051),
            store: StoreSettings::default(),
            internal_tls: InternalTlsSettings::allowing(&["agentctl"]),
            shutdown: shared::shutdown::ShutdownSettings::default(),
            telemetry: shared::telemetry::TelemetrySettings::default(),
            metrics: shared::telemetry::metrics::MetricsSettings::default(),
            identity: PeerSettings::new("http://identity-service:50051"),
            jwks: PeerSettings::new("http://jwks-service:50051"),
            hash_pepper: SecretSetting::default(),
            access_token: AccessTokenSettings {
                ttl: Duration::from_secs(15 * 60),
                audience: String::new(),
                leeway: Duration::from_secs(60),
            },
            token_endpoint: TokenEndpointSettings::default(),
            protected_resources: Vec::new(),
            client_keys: RemoteKeySettings::default(),
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
        self.hash_pepper.validate("hash_pepper", self.profile)?;
        let ttl = self.access_token.ttl;
        if ttl < Duration::from_secs(30) || ttl > Duration::from_secs(24 * 3600) {
            return Err(SettingsError::invalid(
                "access_token.ttl",
                "must be between 30s and 24h",
            ));
        }
        self.token_endpoint.validate()?;
        shared::oauth::validate_resources(&self.protected_resources)?;
        self.shutdown.validate()?;
        self.telemetry.validate()?;
        // Last, so the rules above report first; production refuses plaintext gRPC.
        self.internal_tls.validate(self.profile)?;
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
