//! The enterprise identity providers of `token_endpoint.id_jag`, each with its policy and
//! its keys (its `jwks_uri` through the shared SSRF-safe fetcher, its private CA trusted,
//! cached with a refetch cooldown), and the verification of their ID-JAGs: header,
//! one signature check, then the claims (draft -04 §3, §4.4 and §6, RFC 7523 §3).

use std::collections::HashMap;
use std::sync::Arc;

use protocol::jose::alg::JwsAlg;
use protocol::jose::jws::{self, JwsError};
use protocol::jose::keys::RemoteKeyError;
use protocol::oauth::id_jag::{IdJagIssuerSettings, IdJagSettings, TYP};
use protocol::scope::ScopeSet;
use serde::Deserialize;
use serde_json::Value;
use shared::fetch::{Destinations, Fetcher};
use shared::keys::remote::{RemoteKeySettings, RemoteKeys, check_url};
use shared::settings::SettingsError;
use shared::store::replay::ReplayCache;
use url::Url;

use super::claims::{IdJagClaims, refused};
use crate::error::OAuthError;

/// One trusted provider: its settings and its keys.
#[derive(Debug)]
pub struct EnterpriseProvider {
    pub settings: IdJagIssuerSettings,
    /// `max_scopes`, parsed; none: no cap.
    pub max_scopes: Option<ScopeSet>,
    jwks_uri: Url,
    keys: RemoteKeys,
}

/// Every trusted provider, by `iss`, and the rules every ID-JAG meets.
#[derive(Debug, Default)]
pub struct EnterpriseProviders {
    by_issuer: HashMap<String, Arc<EnterpriseProvider>>,
    /// Our issuer: the `aud` an ID-JAG must name.
    audience: String,
    max_lifetime_secs: i64,
    leeway_secs: i64,
    replay: Option<Arc<dyn ReplayCache>>,
}

#[derive(Debug, Deserialize)]
struct Unverified {
    #[serde(default)]
    iss: Option<String>,
}

impl EnterpriseProviders {
    /// The providers of `settings` (already validated as a section); fetches nothing yet.
    pub fn new(
        settings: &IdJagSettings,
        keys: &RemoteKeySettings,
        our_issuer: &str,
        leeway_secs: u64,
        replay: Arc<dyn ReplayCache>,
    ) -> Result<Self, SettingsError> {
        let mut by_issuer = HashMap::new();
        for (i, entry) in settings.issuers.iter().enumerate() {
            let key = format!("token_endpoint.id_jag.issuers[{i}]");
            if entry.issuer == our_issuer {
                return Err(SettingsError::invalid(
                    format!("{key}.issuer"),
                    "is this server itself; our own identity assertions need no entry",
                ));
            }
            by_issuer.insert(entry.issuer.clone(), Arc::new(provider(&key, entry, keys)?));
        }
        Ok(Self {
            by_issuer,
            audience: our_issuer.to_owned(),
            max_lifetime_secs: secs(settings.max_lifetime.as_secs()),
            leeway_secs: secs(leeway_secs),
            replay: Some(replay),
        })
    }

    /// Whose ID-JAG `assertion` claims to be, unverified: only its `iss` chooses which
    /// keys verify it, so our own assertions (our `iss`) never reach a provider's keys and
    /// a provider's never reach ours.
    pub fn claimed_by(&self, assertion: &str) -> Option<Arc<EnterpriseProvider>> {
        if self.by_issuer.is_empty() {
            return None;
        }
        let unverified: Unverified = jsonwebtoken::dangerous::insecure_decode_claims(assertion).ok()?;
        self.by_issuer.get(unverified.iss.as_deref()?).cloned()
    }

    /// `assertion`, verified as `provider`'s ID-JAG for us, not yet spent.
    pub async fn verify(
        &self,
        provider: &EnterpriseProvider,
        assertion: &str,
        now: i64,
    ) -> Result<IdJagClaims, OAuthError> {
        let (alg, kid) = header(assertion)?;
        let key = provider
            .keys
            .key(&provider.jwks_uri, kid.as_deref())
            .await
            .map_err(|e| match e {
                RemoteKeyError::UnknownKey(_) | RemoteKeyError::Refused(..) => {
                    OAuthError::InvalidGrant("the ID-JAG's kid names none of its identity provider's keys".into())
                }
                RemoteKeyError::Unavailable(cause) | RemoteKeyError::Forbidden(cause) => {
                    tracing::warn!(issuer = %provider.settings.issuer, %cause, "identity provider keys unavailable");
                    OAuthError::TemporarilyUnavailable {
                        what: "the identity provider's keys",
                        cause,
                    }
                }
            })?;
        if !key.accepts(alg) {
            return Err(refused("the ID-JAG's alg does not fit its identity provider's key"));
        }
        let claims: IdJagClaims = jws::verify(assertion, &key.key, alg).map_err(|e| match e {
            JwsError::BadSignature => refused("the ID-JAG's signature is invalid"),
            _ => refused("the ID-JAG lacks iss, sub, aud, client_id, jti, iat or exp, or is malformed"),
        })?;
        claims.check(
            &provider.settings.issuer,
            &self.audience,
            now,
            (self.max_lifetime_secs, self.leeway_secs),
        )?;
        Ok(claims)
    }

    /// draft -04 §6 (RFC 7523 §3 item 7): an ID-JAG is accepted once, on every replica.
    /// Remembered until it can no longer pass the `exp` check anyway.
    pub async fn spend(&self, claims: &IdJagClaims) -> Result<(), OAuthError> {
        let Some(replay) = &self.replay else {
            return Ok(());
        };
        let until = claims.exp.secs().saturating_add(self.leeway_secs);
        if !replay
            .first_use(&format!("id-jag:{}", claims.iss), &claims.jti, until)
            .await?
        {
            return Err(refused("this ID-JAG was already used"));
        }
        Ok(())
    }
}

fn provider(
    key: &str,
    entry: &IdJagIssuerSettings,
    keys: &RemoteKeySettings,
) -> Result<EnterpriseProvider, SettingsError> {
    let invalid = |field: &str, reason: String| SettingsError::invalid(format!("{key}.{field}"), reason);
    check_url(&entry.issuer, Destinations::Configured).map_err(|reason| invalid("issuer", reason))?;
    let jwks_uri =
        check_url(&entry.jwks_uri, Destinations::Configured).map_err(|reason| invalid("jwks_uri", reason))?;
    let roots = entry
        .ca_file
        .as_ref()
        .map(|path| std::fs::read(path).map_err(|e| invalid("ca_file", format!("cannot read {}: {e}", path.display()))))
        .transpose()?;
    let fetcher = Fetcher::trusting(keys.fetch_timeout, Destinations::Configured, roots.as_deref())
        .map_err(|reason| invalid("ca_file", reason))?;
    let max_scopes = if entry.max_scopes.is_empty() {
        None
    } else {
        Some(ScopeSet::from_tokens(&entry.max_scopes).map_err(|e| invalid("max_scopes", e.to_string()))?)
    };
    Ok(EnterpriseProvider {
        settings: entry.clone(),
        max_scopes,
        jwks_uri,
        keys: RemoteKeys::with_fetcher(keys, fetcher)?,
    })
}

/// The ID-JAG's `alg` (asymmetric only) and `kid`. Draft -04 §3 and RFC 8725 §3.11: its
/// `typ` is `oauth-id-jag+jwt`, which alone tells it from an ID token or another JWT;
/// RFC 7515 §4.1.11: no extension is implemented, so any `crit` is refused.
fn header(assertion: &str) -> Result<(JwsAlg, Option<String>), OAuthError> {
    let header = jws::protected_header(assertion).map_err(|_| refused("the ID-JAG is not a signed JWT"))?;
    if header.contains_key("crit") {
        return Err(refused(
            "the ID-JAG names a critical extension this server does not implement",
        ));
    }
    let typ = header.get("typ").and_then(Value::as_str).unwrap_or("");
    let typ = typ.strip_prefix("application/").unwrap_or(typ);
    if !typ.eq_ignore_ascii_case(TYP) {
        return Err(refused("an ID-JAG's typ header must be oauth-id-jag+jwt"));
    }
    let alg = jws::header_alg(&header)
        .ok_or_else(|| refused("the ID-JAG's alg is not an asymmetric algorithm this server verifies"))?;
    let kid = header.get("kid").and_then(Value::as_str).map(str::to_owned);
    Ok((alg, kid))
}

fn secs(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
