use std::time::Duration;

use serde::{Deserialize, Serialize};
use shared::settings::{ListenSettings, Profile, SecretSetting, ServiceSettings, SettingsError, StoreSettings};

use crate::keys::{Kek, KekRing};

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
    /// Key-encryption key: 32 random bytes, base64 (`openssl rand -base64 32`), from a
    /// secret file in production. Development without one uses an ephemeral KEK.
    pub kek: SecretSetting,
    /// Earlier KEKs, kept so keys they sealed still open after a KEK rotation.
    #[serde(default)]
    pub previous_keks: Vec<SecretSetting>,
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
                kek: SecretSetting::default(),
                previous_keks: Vec::new(),
            },
        }
    }
}

impl ServiceSettings for Settings {
    fn validate(&self) -> Result<(), SettingsError> {
        shared::jose::parse_algorithm(&self.keys.algorithm)
            .map_err(|e| SettingsError::invalid("keys.algorithm", format!("{e}; use ES256 or EdDSA")))?;
        self.keys.kek.validate("keys.kek", self.profile)?;
        self.keks()?;
        if self.keys.jwks_max_age > Duration::from_secs(24 * 3600) {
            return Err(SettingsError::invalid("keys.jwks_max_age", "must be at most 24h"));
        }
        Ok(())
    }
}

impl Settings {
    /// The configured KEKs; in development without one, an ephemeral KEK (keys it seals
    /// are unreadable after a restart, which an in-memory store never sees).
    pub fn keks(&self) -> Result<KekRing, SettingsError> {
        let current = match self.keys.kek.resolve("keys.kek")? {
            Some(secret) => Kek::from_secret(&secret, "keys.kek")?,
            None if self.profile == Profile::Development => Kek::ephemeral(),
            None => return Err(SettingsError::invalid("keys.kek", "required in production")),
        };
        let previous = self
            .keys
            .previous_keks
            .iter()
            .enumerate()
            .map(|(i, setting)| {
                let key = format!("keys.previous_keks[{i}]");
                let secret = setting
                    .resolve(&key)?
                    .ok_or_else(|| SettingsError::invalid(&key, "empty"))?;
                Kek::from_secret(&secret, &key)
            })
            .collect::<Result<_, _>>()?;
        Ok(KekRing { current, previous })
    }
}
