//! Key sets published by others (trusted providers, `private_key_jwt` clients): fetched
//! over HTTP within a time and size limit, cached for the response's `Cache-Control:
//! max-age` (within configured bounds), refetched for an unknown `kid` at most once per
//! cooldown, never fetched by two verifications of one set at once.
//!
//! Where a URL comes from someone we do not control (a client's `jwks_uri`), the fetch is
//! SSRF-safe: [`crate::fetch`] with [`Destinations::Public`].

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex as StdMutex, PoisonError};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::PublicKeyUse;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{Mutex, RwLock};
use url::Url;

use super::alg::{JwsAlg, KeyRefusal};
use crate::fetch::Fetcher;
use crate::settings::SettingsError;

pub use crate::fetch::{Destinations, allowed, check_url};

/// Key sets are a few KiB; anything this large is not one.
const MAX_JWKS_BYTES: usize = 256 * 1024;
/// RFC 7517 §8.5 registers `application/jwk-set+json`; most publishers serve plain JSON.
const JWKS_MEDIA_TYPES: [&str; 2] = ["application/jwk-set+json", "application/json"];

/// How remote key sets are cached and fetched.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemoteKeySettings {
    /// `Cache-Control: max-age` is honoured within these bounds; no header means `min_cache`.
    #[serde(with = "humantime_serde")]
    pub min_cache: Duration,
    #[serde(with = "humantime_serde")]
    pub max_cache: Duration,
    /// An unknown `kid` triggers at most one refetch per set per this interval.
    #[serde(with = "humantime_serde")]
    pub refetch_cooldown: Duration,
    /// Bound on each fetch.
    #[serde(with = "humantime_serde")]
    pub fetch_timeout: Duration,
}

impl Default for RemoteKeySettings {
    fn default() -> Self {
        Self {
            min_cache: Duration::from_secs(60),
            max_cache: Duration::from_secs(24 * 3600),
            refetch_cooldown: Duration::from_secs(30),
            fetch_timeout: Duration::from_secs(5),
        }
    }
}

/// A key to verify with: the algorithms come from the key, never from a token's header
/// (RFC 8725 §3.1); a header's `alg` must be one of them.
#[derive(Clone)]
pub struct VerifyingKey {
    pub algs: Vec<JwsAlg>,
    pub key: DecodingKey,
}

impl VerifyingKey {
    /// Whether a token whose header names `alg` may be verified with this key.
    pub fn accepts(&self, alg: JwsAlg) -> bool {
        self.algs.contains(&alg)
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("algs", &self.algs)
            .finish_non_exhaustive()
    }
}

/// Why no key could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteKeyError {
    #[error("the key set publishes no key `{0}`")]
    UnknownKey(String),
    #[error("the key `{0}` cannot be used: {1}")]
    Refused(String, KeyRefusal),
    #[error("the key set cannot be fetched: {0}")]
    Unavailable(String),
    #[error("the key set URL is not allowed: {0}")]
    Forbidden(String),
}

/// Signing keys of one set by `kid` (`""` for a key without one).
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: HashMap<String, VerifyingKey>,
    /// Keys left out, with the reason, so a token naming one is told why.
    refused: HashMap<String, KeyRefusal>,
}

impl KeySet {
    /// The key `kid` names, or with no `kid`, the set's only key.
    pub fn get(&self, kid: Option<&str>) -> Option<&VerifyingKey> {
        match kid {
            Some(kid) => self.keys.get(kid),
            None if self.keys.len() == 1 => self.keys.values().next(),
            None => None,
        }
    }

    /// Why the key `kid` names was left out of the set, if it was.
    pub fn refusal(&self, kid: Option<&str>) -> Option<&KeyRefusal> {
        self.refused.get(kid.unwrap_or(""))
    }

    /// Every key left out, by kid, with why.
    pub fn refusals(&self) -> impl Iterator<Item = (&str, &KeyRefusal)> {
        self.refused.iter().map(|(kid, refusal)| (kid.as_str(), refusal))
    }

    /// The key `kid` names, or why there is none.
    pub fn lookup(&self, kid: Option<&str>) -> Result<&VerifyingKey, RemoteKeyError> {
        self.get(kid).ok_or_else(|| {
            let name = kid.unwrap_or("").to_owned();
            match self.refusal(kid) {
                Some(refusal) => RemoteKeyError::Refused(name, refusal.clone()),
                None => RemoteKeyError::UnknownKey(name),
            }
        })
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// A JWK Set document's usable signing keys; symmetric and unusable keys are left out
    /// (and remembered, with why, in [`Self::refusal`]).
    pub fn parse(json: &[u8]) -> Result<Self, String> {
        let set: Value = serde_json::from_slice(json).map_err(|_| "not a JWK set".to_owned())?;
        verifying_keys(&set)
    }
}

struct Fetched {
    set: Arc<KeySet>,
    fetched_at: Instant,
    max_age: Duration,
}

impl Fetched {
    fn is_fresh(&self) -> bool {
        self.fetched_at.elapsed() < self.max_age
    }
}

struct Entry {
    cache: RwLock<Option<Arc<Fetched>>>,
    /// Held for the whole of a fetch: concurrent verifies wait for one fetch.
    fetch: Mutex<FetchState>,
}

#[derive(Default)]
struct FetchState {
    last_attempt: Option<Instant>,
    /// Why the last attempt failed; `None` after a success.
    last_error: Option<String>,
}

/// Remote key sets, by URL.
pub struct RemoteKeys {
    fetcher: Fetcher,
    settings: RemoteKeySettings,
    sets: StdMutex<HashMap<Url, Arc<Entry>>>,
}

impl fmt::Debug for RemoteKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteKeys")
            .field("settings", &self.settings)
            .field("destinations", &self.fetcher.destinations())
            .finish_non_exhaustive()
    }
}

impl RemoteKeys {
    pub fn new(settings: &RemoteKeySettings, destinations: Destinations) -> Result<Self, SettingsError> {
        if settings.min_cache > settings.max_cache {
            return Err(SettingsError::invalid("min_cache", "must not exceed max_cache"));
        }
        let fetcher =
            Fetcher::new(settings.fetch_timeout, destinations).map_err(|e| SettingsError::invalid("jwks", e))?;
        Ok(Self {
            fetcher,
            settings: settings.clone(),
            sets: StdMutex::new(HashMap::new()),
        })
    }

    /// Where this fetcher may connect.
    pub fn destinations(&self) -> Destinations {
        self.fetcher.destinations()
    }

    /// Checks a URL against the destination rules (before any fetch).
    pub fn check_url(&self, value: &str) -> Result<Url, RemoteKeyError> {
        self.fetcher.check_url(value).map_err(RemoteKeyError::Forbidden)
    }

    /// The key `kid` of the set at `url`: cached if fresh, else fetched under the set's lock.
    pub async fn key(&self, url: &Url, kid: Option<&str>) -> Result<VerifyingKey, RemoteKeyError> {
        let entry = {
            let mut sets = self.sets.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(sets.entry(url.clone()).or_insert_with(|| {
                Arc::new(Entry {
                    cache: RwLock::new(None),
                    fetch: Mutex::new(FetchState::default()),
                })
            }))
        };
        let unknown = || RemoteKeyError::UnknownKey(kid.unwrap_or("").to_owned());
        let seen = entry.cache.read().await.clone();
        if let Some(key) = seen.as_ref().filter(|f| f.is_fresh()).and_then(|f| f.set.get(kid)) {
            return Ok(key.clone());
        }
        let mut state = entry.fetch.lock().await;
        let current = entry.cache.read().await.clone();
        let changed = !matches!((&seen, &current), (Some(a), Some(b)) if Arc::ptr_eq(a, b));
        if let Some(fetched) = current.as_ref().filter(|f| changed && f.is_fresh()) {
            // Fetched while this verify waited: that fetch was its refetch too.
            return fetched.set.lookup(kid).cloned();
        }
        let expired = current.as_ref().is_none_or(|f| !f.is_fresh());
        let cooled = state
            .last_attempt
            .is_none_or(|at| at.elapsed() >= self.settings.refetch_cooldown);
        // Expiry always refetches; an unknown kid or a failing source waits out the cooldown.
        if cooled || (expired && state.last_error.is_none()) {
            state.last_attempt = Some(Instant::now());
            match self.fetch(url).await {
                Ok(fetched) => {
                    state.last_error = None;
                    let fetched = Arc::new(fetched);
                    *entry.cache.write().await = Some(Arc::clone(&fetched));
                    return fetched.set.lookup(kid).cloned();
                }
                Err(reason) => {
                    tracing::warn!(jwks_uri = %url, %reason, cached = current.is_some(), "key set fetch failed");
                    state.last_error = Some(reason);
                }
            }
        }
        match (current.as_ref().and_then(|f| f.set.get(kid)), &state.last_error) {
            (Some(stale), _) => Ok(stale.clone()),
            (None, Some(reason)) => Err(RemoteKeyError::Unavailable(reason.clone())),
            (None, None) => Err(match &current {
                Some(fetched) => fetched.set.lookup(kid).err().unwrap_or_else(unknown),
                None => unknown(),
            }),
        }
    }

    async fn fetch(&self, url: &Url) -> Result<Fetched, String> {
        let fetched = self.fetcher.get(url, &JWKS_MEDIA_TYPES, MAX_JWKS_BYTES).await?;
        // No `max-age` (or `no-cache`) means the minimum.
        let (min, max) = (self.settings.min_cache, self.settings.max_cache);
        Ok(Fetched {
            set: Arc::new(KeySet::parse(&fetched.body)?),
            fetched_at: fetched.fetched_at,
            max_age: fetched.max_age.map_or(min, |age| age.clamp(min, max)),
        })
    }
}

/// The signing keys of a set by kid, and why each key we cannot use was left out.
fn verifying_keys(set: &Value) -> Result<KeySet, String> {
    let entries = set
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| "not a JWK set".to_owned())?;
    let (mut keys, mut refused) = (HashMap::new(), HashMap::new());
    for raw in entries {
        let Some((jwk, declared)) = super::alg::parse_jwk(raw) else {
            tracing::debug!("published key skipped: not a JWK");
            continue;
        };
        let kid = jwk.common.key_id.clone().unwrap_or_default();
        if jwk
            .common
            .public_key_use
            .as_ref()
            .is_some_and(|u| *u != PublicKeyUse::Signature)
        {
            continue;
        }
        let usable = super::alg::key_algorithms(declared.as_deref(), &jwk)
            .and_then(|algs| Ok((algs, DecodingKey::from_jwk(&jwk).map_err(|_| KeyRefusal::Unsupported)?)));
        match usable {
            Ok((algs, key)) => {
                keys.entry(kid).or_insert(VerifyingKey { algs, key });
            }
            Err(refusal) => {
                tracing::debug!(%kid, %refusal, "published key skipped");
                refused.insert(kid, refusal);
            }
        }
    }
    Ok(KeySet { keys, refused })
}
