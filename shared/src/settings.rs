//! Layered settings: built-in defaults → optional file named by `AGENTAUTH_CONFIG` →
//! `AGENTAUTH__SECTION__KEY` environment variables. The process environment is read
//! once, in `main`, through [`Sources::from_process`]; everything else receives values.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use config::{Config, Environment, File};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use protocol::secrets::Secret;

use crate::secrets::read_secret;

/// Environment variable naming an optional settings file (TOML).
pub const CONFIG_FILE_VAR: &str = "AGENTAUTH_CONFIG";
const ENV_PREFIX: &str = "AGENTAUTH";

/// A bad or unloadable setting; the message names the setting.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("invalid setting `{key}`: {reason}")]
    Invalid { key: String, reason: String },
    #[error("cannot load settings: {0}")]
    Load(#[from] config::ConfigError),
}

impl From<protocol::InvalidSetting> for SettingsError {
    fn from(error: protocol::InvalidSetting) -> Self {
        Self::Invalid {
            key: error.key,
            reason: error.reason,
        }
    }
}

impl SettingsError {
    pub fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

/// Where settings come from besides the defaults.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    pub file: Option<PathBuf>,
    /// `AGENTAUTH__…` variables (others are ignored).
    pub env: HashMap<String, String>,
}

impl Sources {
    /// Reads the process environment; call this from `main` only.
    pub fn from_process() -> Self {
        Self {
            file: std::env::var_os(CONFIG_FILE_VAR).map(PathBuf::from),
            env: std::env::vars().filter(|(k, _)| k.starts_with(ENV_PREFIX)).collect(),
        }
    }
}

/// Loads `T` with `defaults` as the lowest layer.
pub fn load<T: Serialize + DeserializeOwned>(defaults: &T, sources: Sources) -> Result<T, SettingsError> {
    let mut builder = Config::builder().add_source(Config::try_from(defaults)?);
    if let Some(path) = sources.file {
        builder = builder.add_source(File::from(path).required(true));
    }
    let env = Environment::with_prefix(ENV_PREFIX)
        .prefix_separator("__")
        .separator("__")
        .try_parsing(true)
        .source(Some(sources.env));
    Ok(builder.add_source(env).build()?.try_deserialize()?)
}

/// A service's settings: loaded over its defaults, then validated as a whole.
pub trait ServiceSettings: Default + Serialize + DeserializeOwned {
    /// Checks every rule across fields; the error names the bad setting. Reads no file:
    /// secret and certificate files are read once, when the service is built.
    fn validate(&self) -> Result<(), SettingsError>;

    fn load(sources: Sources) -> Result<Validated<Self>, SettingsError> {
        Self::load_over(Self::default(), sources)
    }

    /// Like [`Self::load`] with other defaults (the all-in-one runner's).
    fn load_over(defaults: Self, sources: Sources) -> Result<Validated<Self>, SettingsError> {
        Validated::new(load(&defaults, sources)?)
    }
}

/// Settings that passed [`ServiceSettings::validate`]: what a service is built from, so
/// nothing validates them again.
#[derive(Debug, Clone)]
pub struct Validated<S>(S);

impl<S: ServiceSettings> Validated<S> {
    pub fn new(settings: S) -> Result<Self, SettingsError> {
        settings.validate()?;
        Ok(Self(settings))
    }

    pub fn into_inner(self) -> S {
        self.0
    }
}

impl<S> std::ops::Deref for Validated<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.0
    }
}

/// Development relaxes what production refuses (ephemeral secrets, plaintext gRPC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    Development,
    Production,
}

/// A TCP listen address; port 0 picks a free port.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListenSettings {
    pub host: String,
    pub port: u16,
}

impl ListenSettings {
    pub fn new(host: &str, port: u16) -> Self {
        Self {
            host: host.to_owned(),
            port,
        }
    }

    pub fn bind(&self) -> std::io::Result<TcpListener> {
        let listener = TcpListener::bind((self.host.as_str(), self.port))?;
        listener.set_nonblocking(true)?;
        Ok(listener)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreBackend {
    /// Process-local; the embedded default of `agentctl dev` and fast unit tests.
    Memory,
    Redis,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoreSettings {
    pub backend: StoreBackend,
    /// `redis://host:port/db`, `rediss://…` or `redis+unix:///path/to/socket`.
    pub redis_url: String,
    /// Prepended to every key, so several deployments can share one Redis.
    pub key_prefix: String,
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Upper bound on any single Redis command; a slow Redis becomes a 503, not a hang.
    #[serde(with = "humantime_serde")]
    pub response_timeout: Duration,
    /// PEM CA that signed the Redis servers' certificates (`rediss://` behind a private
    /// CA); unset: the system roots.
    #[serde(default)]
    pub tls_ca_file: Option<PathBuf>,
    /// Redis AUTH password (a secret file in production); overrides the URL's.
    #[serde(default)]
    pub password: SecretSetting,
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            backend: StoreBackend::Redis,
            redis_url: "redis://127.0.0.1:6379".into(),
            key_prefix: "agentauth:".into(),
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_millis(500),
            tls_ca_file: None,
            password: SecretSetting::default(),
        }
    }
}

/// A gRPC peer this service calls.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeerSettings {
    /// `http://host:port` of the peer's internal gRPC port.
    pub url: String,
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Bound on every unary call; streaming calls are bounded by their own keep-alive.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// The service name the peer's certificate must carry (internal mTLS); defaults to
    /// the URL's host.
    #[serde(default)]
    pub server_name: Option<String>,
    /// How often the URL's host is resolved again: a headless Service name yields every
    /// ready replica, and calls are spread over all of them.
    #[serde(with = "humantime_serde", default = "default_resolve_interval")]
    pub resolve_interval: Duration,
}

fn default_resolve_interval() -> Duration {
    Duration::from_secs(5)
}

impl PeerSettings {
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(2),
            server_name: None,
            resolve_interval: default_resolve_interval(),
        }
    }

    pub fn validate(&self, key: &str) -> Result<(), SettingsError> {
        match self.url.parse::<tonic::transport::Uri>() {
            Ok(uri) if uri.scheme_str().is_some() && uri.host().is_some() => Ok(()),
            _ => Err(SettingsError::invalid(
                format!("{key}.url"),
                format!("`{}` is not an absolute http(s) URL", self.url),
            )),
        }
    }
}

/// A secret given inline (development) or as a file path (Kubernetes/Docker secrets).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SecretSetting {
    pub value: Option<String>,
    pub file: Option<PathBuf>,
}

impl SecretSetting {
    /// The secret, if configured; the file wins over the inline value.
    pub fn resolve(&self, key: &str) -> Result<Option<Secret>, SettingsError> {
        if let Some(path) = &self.file {
            return read_secret(path)
                .map(Some)
                .map_err(|e| SettingsError::invalid(format!("{key}.file"), e.to_string()));
        }
        Ok(self
            .value
            .as_ref()
            .filter(|v| !v.is_empty())
            .map(|v| Secret::new(v.as_bytes().to_vec())))
    }

    /// A file or a non-empty inline value is given (nothing is read).
    pub fn is_configured(&self) -> bool {
        self.file.is_some() || self.value.as_ref().is_some_and(|v| !v.is_empty())
    }

    /// Production must configure one (read later, once, by [`Self::resolve_for`]).
    pub fn validate(&self, key: &str, profile: Profile) -> Result<(), SettingsError> {
        if !self.is_configured() && profile == Profile::Production {
            return Err(missing_secret(key));
        }
        Ok(())
    }

    /// The secret; in development a missing one is replaced by an ephemeral random
    /// secret (what it protects dies with the process), in production it is an error.
    pub fn resolve_for(&self, key: &str, profile: Profile) -> Result<Secret, SettingsError> {
        match self.resolve(key)? {
            Some(secret) => Ok(secret),
            None if profile == Profile::Development => {
                tracing::warn!(
                    setting = key,
                    "not configured: using an ephemeral random secret (development)"
                );
                Ok(Secret::random(32))
            }
            None => Err(missing_secret(key)),
        }
    }
}

fn missing_secret(key: &str) -> SettingsError {
    SettingsError::invalid(key, format!("required in production: set {key}.file (or {key}.value)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize)]
    struct Sample {
        http: ListenSettings,
        #[serde(with = "humantime_serde")]
        ttl: Duration,
        secret: SecretSetting,
    }

    fn sample() -> Sample {
        Sample {
            http: ListenSettings::new("127.0.0.1", 8080),
            ttl: Duration::from_secs(900),
            secret: SecretSetting::default(),
        }
    }

    #[test]
    fn environment_overrides_defaults_and_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("settings.toml");
        std::fs::write(&file, "ttl = \"1h\"\n[http]\nport = 9000\n").expect("write");
        let env = HashMap::from([("AGENTAUTH__HTTP__PORT".to_owned(), "9100".to_owned())]);
        let loaded = load(&sample(), Sources { file: Some(file), env }).expect("load");
        assert_eq!(loaded.http.port, 9100);
        assert_eq!(loaded.http.host, "127.0.0.1");
        assert_eq!(loaded.ttl, Duration::from_secs(3600));
        assert_eq!(loaded.secret.value, None);
    }

    #[test]
    fn a_bad_value_names_its_setting() {
        let env = HashMap::from([("AGENTAUTH__HTTP__PORT".to_owned(), "eighty".to_owned())]);
        let err = load(&sample(), Sources { file: None, env }).expect_err("must fail");
        assert!(err.to_string().contains("http.port"), "{err}");
    }

    #[test]
    fn a_missing_settings_file_is_an_error() {
        let sources = Sources {
            file: Some("/nonexistent/agentauth.toml".into()),
            env: HashMap::new(),
        };
        assert!(load(&sample(), sources).is_err());
    }
}
