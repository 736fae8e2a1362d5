use std::time::Duration;

use serde::{Deserialize, Serialize};
use shared::serve::CommonSettings;

/// The name this service's internal certificate is issued to.
pub const SERVICE_NAME: &str = "jwks-service";
use shared::settings::{Profile, SecretSetting, ServiceSettings, SettingsError};

use crate::keys::{Kek, KekRing, Schedule};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// Profile, ports, store, internal TLS, drain, telemetry and metrics: the same keys
    /// in every service.
    #[serde(flatten)]
    pub common: CommonSettings,
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
    /// How long a key signs before its successor takes over.
    #[serde(with = "humantime_serde")]
    pub rotation_period: Duration,
    /// How long a new key is published before it signs: longer than any verifier's JWKS
    /// cache, so no cached verifier meets an unknown kid.
    #[serde(with = "humantime_serde")]
    pub publish_ahead: Duration,
    /// How long a superseded key stays published: the longest token or assertion
    /// lifetime + the JWKS max-age + clock skew.
    #[serde(with = "humantime_serde")]
    pub retire_after: Duration,
    /// At most this many keys are published at once.
    pub max_published: usize,
    /// How often replicas reload keys and the lease holder acts on the schedule.
    #[serde(with = "humantime_serde")]
    pub scheduler_tick: Duration,
    /// How long the scheduling lease lasts without renewal: another replica takes over
    /// this long after the holder dies.
    #[serde(with = "humantime_serde")]
    pub lease_ttl: Duration,
}

impl KeySettings {
    pub fn schedule(&self) -> Schedule {
        Schedule {
            rotation_period: self.rotation_period,
            publish_ahead: self.publish_ahead,
            retire_after: self.retire_after,
            max_published: self.max_published,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            common: CommonSettings::allowing(&["identity-service", "token-service", "agentctl"]),
            keys: KeySettings {
                algorithm: "ES256".into(),
                jwks_max_age: Duration::from_secs(300),
                kek: SecretSetting::default(),
                previous_keks: Vec::new(),
                rotation_period: Duration::from_secs(30 * 24 * 3600),
                publish_ahead: Duration::from_secs(15 * 60),
                retire_after: Duration::from_secs(70 * 60),
                max_published: 4,
                scheduler_tick: Duration::from_secs(1),
                lease_ttl: Duration::from_secs(15),
            },
        }
    }
}

impl ServiceSettings for Settings {
    fn validate(&self) -> Result<(), SettingsError> {
        protocol::jose::parse_algorithm(&self.keys.algorithm)
            .map_err(|e| SettingsError::invalid("keys.algorithm", format!("{e}; use ES256 or EdDSA")))?;
        self.keys.kek.validate("keys.kek", self.common.profile)?;
        self.check_inline_keks()?;
        let keys = &self.keys;
        if keys.publish_ahead < keys.jwks_max_age || keys.retire_after < keys.jwks_max_age {
            return Err(SettingsError::invalid(
                "keys.publish_ahead",
                "publish_ahead and retire_after must each be at least jwks_max_age",
            ));
        }
        // The next key is generated two publish-ahead periods before its slot.
        if keys.rotation_period <= keys.publish_ahead * 2 {
            return Err(SettingsError::invalid(
                "keys.rotation_period",
                "must be longer than twice publish_ahead",
            ));
        }
        if keys.lease_ttl < keys.scheduler_tick * 2 || keys.scheduler_tick.is_zero() {
            return Err(SettingsError::invalid(
                "keys.lease_ttl",
                "must be at least two scheduler ticks",
            ));
        }
        if keys.max_published < 2 {
            return Err(SettingsError::invalid("keys.max_published", "must be at least 2"));
        }
        if self.keys.jwks_max_age > Duration::from_secs(24 * 3600) {
            return Err(SettingsError::invalid("keys.jwks_max_age", "must be at most 24h"));
        }
        self.common.shutdown.validate()?;
        self.common.telemetry.validate()?;
        // Last, so the rules above report first; production refuses plaintext gRPC.
        self.common.internal_tls.validate(self.common.profile)?;
        Ok(())
    }
}

impl Settings {
    /// The configured KEKs; in development without one, an ephemeral KEK (keys it seals
    /// are unreadable after a restart, which an in-memory store never sees).
    /// KEKs given inline must parse; KEK files are read once, by [`Self::keks`].
    fn check_inline_keks(&self) -> Result<(), SettingsError> {
        let previous = self
            .keys
            .previous_keks
            .iter()
            .enumerate()
            .map(|(i, setting)| (format!("keys.previous_keks[{i}]"), setting));
        for (key, setting) in std::iter::once(("keys.kek".to_owned(), &self.keys.kek)).chain(previous) {
            if setting.file.is_some() {
                continue;
            }
            match setting.resolve(&key)? {
                Some(secret) => drop(Kek::from_secret(&secret, &key)?),
                None if key != "keys.kek" => return Err(SettingsError::invalid(&key, "empty")),
                None => {}
            }
        }
        Ok(())
    }

    /// The key-encryption keys, read (from their files, if any) once, at startup.
    pub fn keks(&self) -> Result<KekRing, SettingsError> {
        let current = match self.keys.kek.resolve("keys.kek")? {
            Some(secret) => Kek::from_secret(&secret, "keys.kek")?,
            None if self.common.profile == Profile::Development => Kek::ephemeral(),
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
