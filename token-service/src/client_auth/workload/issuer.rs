//! One trusted workload issuer: its rules and its keys, from its configured `jwks_uri`
//! or from OIDC discovery at its `issuer`, fetched only where the operator pointed (a
//! private address too, since a cluster's issuer often is one) and cached.

use protocol::jose::keys::{RemoteKeyError, VerifyingKey};
use serde::Deserialize;
use shared::fetch::{Destinations, Fetcher};
use shared::keys::discovery::Discovery;
use shared::keys::remote::{RemoteKeySettings, RemoteKeys, check_url};
use shared::settings::SettingsError;
use url::Url;

use super::settings::{WorkloadIssuerSettings, WorkloadKind};
use crate::error::OAuthError;

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
    /// The configured `jwks_uri`, or the one discovery names (fetched on first use).
    discovery: Discovery<KeysAt>,
}

/// What this issuer's discovery document tells us: where its keys are.
#[derive(Debug, Clone, Deserialize)]
struct KeysAt {
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
        let fetcher = fetcher(settings, keys).map_err(|(field, reason)| invalid(field, reason))?;
        let discovery = match &settings.jwks_uri {
            Some(uri) => {
                check_url(uri, Destinations::Configured).map_err(|reason| invalid("jwks_uri", reason))?;
                Discovery::known(&settings.issuer, KeysAt { jwks_uri: uri.clone() })
            }
            None => Discovery::new(&settings.issuer, keys.refetch_cooldown),
        };
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
            discovery,
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
        let unavailable = |cause: String| OAuthError::TemporarilyUnavailable {
            what: "the workload issuer's discovery document",
            cause,
        };
        let found = self.discovery.get(self.keys.fetcher()).await.map_err(unavailable)?;
        check_url(&found.jwks_uri, Destinations::Configured).map_err(unavailable)
    }
}

/// The fetcher of an issuer's discovery document and keys: its private CA trusted, and
/// its bearer token presented to the issuer and an operator-named `jwks_uri` alone.
fn fetcher(settings: &WorkloadIssuerSettings, keys: &RemoteKeySettings) -> Result<Fetcher, (&'static str, String)> {
    let roots = settings
        .ca_file
        .as_ref()
        .map(|path| std::fs::read(path).map_err(|e| ("ca_file", format!("cannot read {}: {e}", path.display()))))
        .transpose()?;
    let mut fetcher = Fetcher::trusting(keys.fetch_timeout, Destinations::Configured, roots.as_deref())
        .map_err(|reason| ("ca_file", reason))?;
    if let Some(path) = &settings.bearer_token_file {
        let mut origins = vec![check_url(&settings.issuer, Destinations::Configured).map_err(|r| ("issuer", r))?];
        if let Some(uri) = &settings.jwks_uri {
            origins.push(check_url(uri, Destinations::Configured).map_err(|r| ("jwks_uri", r))?);
        }
        fetcher = fetcher.with_bearer_token_file(path.clone(), &origins);
    }
    Ok(fetcher)
}
