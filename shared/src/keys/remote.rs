//! Key sets published by others (trusted providers, `private_key_jwt` clients), as
//! `protocol::jose::keys` parses them: fetched
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

use protocol::jose::keys::{KeySet, RemoteKeyError, VerifyingKey};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, RwLock};
use url::Url;

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
        let fetcher =
            Fetcher::new(settings.fetch_timeout, destinations).map_err(|e| SettingsError::invalid("jwks", e))?;
        Self::with_fetcher(settings, fetcher)
    }

    /// Key sets fetched by `fetcher` (one that trusts a private CA, say).
    pub fn with_fetcher(settings: &RemoteKeySettings, fetcher: Fetcher) -> Result<Self, SettingsError> {
        if settings.min_cache > settings.max_cache {
            return Err(SettingsError::invalid("min_cache", "must not exceed max_cache"));
        }
        Ok(Self {
            fetcher,
            settings: settings.clone(),
            sets: StdMutex::new(HashMap::new()),
        })
    }

    /// The fetcher the sets come through (a provider's discovery document may too).
    pub fn fetcher(&self) -> &Fetcher {
        &self.fetcher
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
