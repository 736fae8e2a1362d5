//! One trusted workload issuer: its rules and its keys, from its configured `jwks_uri`
//! or from OIDC discovery at its `issuer`, fetched only where the operator pointed (a
//! private address too, since a cluster's issuer often is one) and cached.

use std::sync::OnceLock;
use std::time::Instant;

use protocol::jose::keys::{RemoteKeyError, VerifyingKey};
use serde::Deserialize;
use shared::fetch::{Destinations, Fetcher};
use shared::keys::remote::{RemoteKeySettings, RemoteKeys, check_url};
use shared::settings::SettingsError;
use tokio::sync::Mutex;
use url::Url;

use super::settings::{WorkloadIssuerSettings, WorkloadKind};
use crate::error::OAuthError;

/// A discovery document is a few KiB.
const MAX_DISCOVERY_BYTES: usize = 64 * 1024;

/// A trusted issuer, as configured, with its keys.
#[derive(Debug)]
pub struct TrustedIssuer {
    pub issuer: String,
    pub kind: WorkloadKind,
    /// Accepted `aud` values.
    pub audiences: Vec<String>,
    pub max_lifetime_secs: i64,
    pub require_pod_binding: bool,
    pub trust_domain: Option<String>,
    pub single_use_jti: bool,
    keys: RemoteKeys,
    /// The configured `jwks_uri`, or the discovered one once found.
    jwks_uri: OnceLock<Url>,
    /// Discovery attempts, at most one per refetch cooldown while failing.
    discovery: Mutex<Attempts>,
    cooldown: std::time::Duration,
}

#[derive(Debug, Default)]
struct Attempts {
    last: Option<Instant>,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

impl TrustedIssuer {
    /// Checks the entry at `key` (`workload_identity.issuers[i]`); fetches nothing yet.
    pub fn new(
        key: &str,
        settings: &WorkloadIssuerSettings,
        keys: &RemoteKeySettings,
        default_audiences: &[String],
    ) -> Result<Self, SettingsError> {
        let invalid = |field: &str, reason: String| SettingsError::invalid(format!("{key}.{field}"), reason);
        check_url(&settings.issuer, Destinations::Configured).map_err(|reason| invalid("issuer", reason))?;
        let roots = settings
            .ca_file
            .as_ref()
            .map(|path| {
                std::fs::read(path).map_err(|e| invalid("ca_file", format!("cannot read {}: {e}", path.display())))
            })
            .transpose()?;
        let mut fetcher = Fetcher::trusting(keys.fetch_timeout, Destinations::Configured, roots.as_deref())
            .map_err(|reason| invalid("ca_file", reason))?;
        if let Some(path) = &settings.bearer_token_file {
            fetcher = fetcher.with_bearer_token_file(path.clone());
        }
        let jwks_uri = OnceLock::new();
        if let Some(uri) = &settings.jwks_uri {
            let url = check_url(uri, Destinations::Configured).map_err(|reason| invalid("jwks_uri", reason))?;
            let _ = jwks_uri.set(url);
        }
        let trust_domain = settings.trust_domain.clone();
        if let Some(domain) = &trust_domain {
            spiffe::TrustDomain::new(domain)
                .map_err(|e| invalid("trust_domain", format!("not a SPIFFE trust domain: {e}")))?;
        }
        if settings.kind == WorkloadKind::Spiffe && trust_domain.is_none() {
            return Err(invalid("trust_domain", "a spiffe issuer needs its trust domain".into()));
        }
        if settings.max_lifetime.is_zero() {
            return Err(invalid("max_lifetime", "must be more than zero".into()));
        }
        let audiences = if settings.audiences.is_empty() {
            default_audiences.to_vec()
        } else {
            settings.audiences.clone()
        };
        Ok(Self {
            issuer: settings.issuer.clone(),
            kind: settings.kind,
            audiences,
            max_lifetime_secs: i64::try_from(settings.max_lifetime.as_secs()).unwrap_or(i64::MAX),
            require_pod_binding: settings.require_pod_binding,
            trust_domain,
            single_use_jti: settings.single_use_jti,
            keys: RemoteKeys::with_fetcher(keys, fetcher)?,
            jwks_uri,
            discovery: Mutex::new(Attempts::default()),
            cooldown: keys.refetch_cooldown,
        })
    }

    /// The key `kid` names: cached, or fetched (an unknown `kid` at most once per
    /// cooldown, never once per request).
    pub async fn key(&self, kid: Option<&str>) -> Result<VerifyingKey, OAuthError> {
        let url = self.jwks_uri().await?;
        self.keys.key(&url, kid).await.map_err(|e| match e {
            RemoteKeyError::UnknownKey(_) | RemoteKeyError::Refused(..) => {
                OAuthError::InvalidClient("the workload token's kid names none of its issuer's keys")
            }
            RemoteKeyError::Unavailable(cause) | RemoteKeyError::Forbidden(cause) => {
                tracing::warn!(issuer = %self.issuer, %cause, "workload issuer keys unavailable");
                OAuthError::TemporarilyUnavailable {
                    what: "the workload issuer's keys",
                    cause,
                }
            }
        })
    }

    async fn jwks_uri(&self) -> Result<Url, OAuthError> {
        if let Some(url) = self.jwks_uri.get() {
            return Ok(url.clone());
        }
        let mut attempts = self.discovery.lock().await;
        if let Some(url) = self.jwks_uri.get() {
            return Ok(url.clone());
        }
        let unavailable = |cause: String| OAuthError::TemporarilyUnavailable {
            what: "the workload issuer's discovery document",
            cause,
        };
        if let (Some(at), Some(error)) = (attempts.last, &attempts.error)
            && at.elapsed() < self.cooldown
        {
            return Err(unavailable(error.clone()));
        }
        attempts.last = Some(Instant::now());
        match self.discover().await {
            Ok(url) => {
                attempts.error = None;
                Ok(self.jwks_uri.get_or_init(|| url).clone())
            }
            Err(error) => {
                tracing::warn!(issuer = %self.issuer, %error, "workload issuer discovery failed");
                attempts.error = Some(error.clone());
                Err(unavailable(error))
            }
        }
    }

    /// OpenID Connect Discovery 1.0 §4: the document at the issuer, which must name the
    /// issuer exactly (§4.3), and its `jwks_uri`.
    async fn discover(&self) -> Result<Url, String> {
        let at = format!("{}/.well-known/openid-configuration", self.issuer.trim_end_matches('/'));
        let url = check_url(&at, Destinations::Configured)?;
        let fetched = self
            .keys
            .fetcher()
            .get(&url, &["application/json"], MAX_DISCOVERY_BYTES)
            .await?;
        let document: Discovery =
            serde_json::from_slice(&fetched.body).map_err(|e| format!("not a discovery document: {e}"))?;
        if document.issuer != self.issuer {
            return Err(format!(
                "the discovery document names issuer `{}`, not `{}`",
                document.issuer, self.issuer
            ));
        }
        check_url(&document.jwks_uri, Destinations::Configured)
    }
}
