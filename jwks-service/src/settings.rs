use std::time::Duration;

use serde::{Deserialize, Serialize};
use shared::settings::{ListenSettings, Profile, ServiceSettings, SettingsError, StoreSettings};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub profile: Profile,
    pub http: ListenSettings,
    /// Internal port: `KeyService` for signers. Never exposed through the ingress.
    pub grpc: ListenSettings,
    pub store: StoreSettings,
    pub keys: KeySettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeySettings {
    /// `ES256` (P-256, default) or `EdDSA` (Ed25519).
    pub algorithm: String,
    /// `Cache-Control: max-age` of the JWKS document. Rotation must publish new keys at
    /// least this long before they sign.
    #[serde(with = "humantime_serde")]
    pub jwks_max_age: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            profile: Profile::Production,
            http: ListenSettings::new("0.0.0.0", 8080),
            grpc: ListenSettings::new("0.0.0.0", 50051),
            store: StoreSettings::default(),
            keys: KeySettings {
                algorithm: "ES256".into(),
                jwks_max_age: Duration::from_secs(300),
            },
        }
    }
}

impl ServiceSettings for Settings {
    fn validate(&self) -> Result<(), SettingsError> {
        shared::jose::parse_algorithm(&self.keys.algorithm)
            .map_err(|e| SettingsError::invalid("keys.algorithm", format!("{e}; use ES256 or EdDSA")))?;
        if self.keys.jwks_max_age > Duration::from_secs(24 * 3600) {
            return Err(SettingsError::invalid("keys.jwks_max_age", "must be at most 24h"));
        }
        Ok(())
    }
}
