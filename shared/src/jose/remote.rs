//! Key sets published by others (trusted providers, `private_key_jwt` clients): fetched
//! over HTTP within a time and size limit, cached for the response's `Cache-Control:
//! max-age` (within configured bounds), refetched for an unknown `kid` at most once per
//! cooldown, never fetched by two verifications of one set at once.
//!
//! Where a URL comes from someone we do not control (a client's `jwks_uri`), the fetch is
//! SSRF-safe ([`Destinations::Public`]): https only, and the connection may only go to a
//! public address. Names are resolved by our own resolver, which drops private,
//! loopback and link-local answers, so a DNS trick cannot point the fetch inward.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex as StdMutex, PoisonError};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use reqwest::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, RwLock};
use url::{Host, Url};

use crate::settings::SettingsError;

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

/// Where fetches may connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destinations {
    /// Wherever the operator configured (a provider inside the cluster is fine); http
    /// only on loopback.
    Configured,
    /// Public addresses over https only (loopback, over http too, when `allow_loopback`:
    /// development).
    Public { allow_loopback: bool },
}

/// A key to verify with: the algorithm comes from the key, never from a token's header
/// (RFC 8725 §3.1).
#[derive(Clone)]
pub struct VerifyingKey {
    pub alg: Algorithm,
    pub key: DecodingKey,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// Why no key could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteKeyError {
    #[error("the key set publishes no key `{0}`")]
    UnknownKey(String),
    #[error("the key set cannot be fetched: {0}")]
    Unavailable(String),
    #[error("the key set URL is not allowed: {0}")]
    Forbidden(String),
}

/// Signing keys of one set by `kid` (`""` for a key without one).
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: HashMap<String, VerifyingKey>,
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

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// A JWK Set document's usable signing keys; symmetric and unusable keys are left out.
    pub fn parse(json: &[u8]) -> Result<Self, String> {
        let set: JwkSet = serde_json::from_slice(json).map_err(|_| "not a JWK set".to_owned())?;
        Ok(Self {
            keys: verifying_keys(&set),
        })
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
    http: reqwest::Client,
    settings: RemoteKeySettings,
    destinations: Destinations,
    sets: StdMutex<HashMap<Url, Arc<Entry>>>,
}

impl fmt::Debug for RemoteKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteKeys")
            .field("settings", &self.settings)
            .field("destinations", &self.destinations)
            .finish_non_exhaustive()
    }
}

impl RemoteKeys {
    pub fn new(settings: &RemoteKeySettings, destinations: Destinations) -> Result<Self, SettingsError> {
        if settings.min_cache > settings.max_cache {
            return Err(SettingsError::invalid("min_cache", "must not exceed max_cache"));
        }
        let mut builder = reqwest::Client::builder()
            .timeout(settings.fetch_timeout)
            // The URL is the key source; a redirect could go anywhere.
            .redirect(reqwest::redirect::Policy::none());
        if let Destinations::Public { allow_loopback } = destinations {
            builder = builder.dns_resolver(Arc::new(PublicOnly { allow_loopback }));
        }
        let http = builder
            .build()
            .map_err(|e| SettingsError::invalid("jwks", format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            settings: settings.clone(),
            destinations,
            sets: StdMutex::new(HashMap::new()),
        })
    }

    /// Checks a URL against the destination rules (before any fetch).
    /// Where this fetcher may connect.
    pub fn destinations(&self) -> Destinations {
        self.destinations
    }

    pub fn check_url(&self, value: &str) -> Result<Url, RemoteKeyError> {
        check_url(value, self.destinations).map_err(RemoteKeyError::Forbidden)
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
            return fetched.set.get(kid).cloned().ok_or_else(unknown);
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
                    return fetched.set.get(kid).cloned().ok_or_else(unknown);
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
            (None, None) => Err(unknown()),
        }
    }

    async fn fetch(&self, url: &Url) -> Result<Fetched, String> {
        check_url(url.as_str(), self.destinations)?;
        let fetched_at = Instant::now();
        let mut response = self
            .http
            .get(url.clone())
            .header(ACCEPT, JWKS_MEDIA_TYPES.join(", "))
            .send()
            .await
            .map_err(|e| with_causes(&e))?;
        if !response.status().is_success() {
            return Err(format!("status {}", response.status()));
        }
        let media_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let essence = media_type
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase());
        if !essence.is_some_and(|e| JWKS_MEDIA_TYPES.contains(&e.as_str())) {
            return Err(format!("content type {media_type:?} is not a JWK set"));
        }
        let max_age = self.max_age(response.headers().get(CACHE_CONTROL));
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err("key set too large".into());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            set: Arc::new(KeySet::parse(&body)?),
            fetched_at,
            max_age,
        })
    }

    /// `max-age` clamped to the configured bounds; none (or `no-cache`) means the minimum.
    fn max_age(&self, cache_control: Option<&HeaderValue>) -> Duration {
        let directives = cache_control.and_then(|v| v.to_str().ok()).unwrap_or_default();
        let max_age = directives.split(',').find_map(|directive| {
            let (name, value) = directive.trim().split_once('=')?;
            name.eq_ignore_ascii_case("max-age")
                .then(|| value.trim_matches('"').parse::<u64>().ok())?
        });
        let min = self.settings.min_cache;
        max_age.map_or(min, |secs| {
            Duration::from_secs(secs).clamp(min, self.settings.max_cache)
        })
    }
}

/// An error with its sources: "error sending request: … resolves to no public address".
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// The destination rules for a key set URL.
pub fn check_url(value: &str, destinations: Destinations) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|_| format!("`{value}` is not a URL"))?;
    let loopback = match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name == "localhost",
        None => return Err("the URL has no host".into()),
    };
    let literal = match url.host() {
        Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        _ => None,
    };
    let (https_only, allow_loopback, public_only) = match destinations {
        Destinations::Configured => (false, true, false),
        Destinations::Public { allow_loopback } => (true, allow_loopback, true),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback && allow_loopback => {}
        _ if https_only => return Err("key set URLs must be https".into()),
        _ => return Err("key set URLs must be https (http only on loopback)".into()),
    }
    if public_only
        && let Some(ip) = literal
        && !allowed(ip, allow_loopback)
    {
        return Err("the URL points at a private, loopback or link-local address".into());
    }
    Ok(url)
}

/// Whether an address is one the public may make us connect to.
pub fn allowed(ip: IpAddr, allow_loopback: bool) -> bool {
    if ip.is_loopback() {
        return allow_loopback;
    }
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                // 100.64.0.0/10 carrier-grade NAT, 0.0.0.0/8 "this network".
                || (a == 100 && (64..128).contains(&b))
                || a == 0)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return allowed(IpAddr::V4(v4), allow_loopback);
            }
            let first = v6.segments()[0];
            !(v6.is_unspecified()
                || v6.is_multicast()
                // fc00::/7 unique local, fe80::/10 link-local.
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// A resolver whose answers are only public addresses.
struct PublicOnly {
    allow_loopback: bool,
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_loopback = self.allow_loopback;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|a| allowed(a.ip(), allow_loopback))
                .collect();
            if public.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// The signing keys of a set, by kid; keys we cannot use are left out.
fn verifying_keys(set: &JwkSet) -> HashMap<String, VerifyingKey> {
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let kid = jwk.common.key_id.clone().unwrap_or_default();
        if jwk
            .common
            .public_key_use
            .as_ref()
            .is_some_and(|u| *u != PublicKeyUse::Signature)
        {
            continue;
        }
        let key = signing_algorithm(jwk).and_then(|alg| Some((alg, DecodingKey::from_jwk(jwk).ok()?)));
        match key {
            Some((alg, key)) => {
                keys.entry(kid).or_insert(VerifyingKey { alg, key });
            }
            None => tracing::debug!(%kid, "published key skipped: unsupported or malformed"),
        }
    }
    keys
}

/// The algorithm a published key verifies: its `alg`, which must fit the key, or the one its
/// type implies. Symmetric keys are never accepted from a published set.
pub fn signing_algorithm(jwk: &Jwk) -> Option<Algorithm> {
    let declared = match jwk.common.key_algorithm {
        Some(alg) => Some(Algorithm::try_from(alg).ok()?),
        None => None,
    };
    let implied = match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => Algorithm::ES256,
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P384 => Algorithm::ES384,
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => Algorithm::EdDSA,
        AlgorithmParameters::RSA(_) => match declared {
            Some(alg) if alg.family() == AlgorithmFamily::Rsa => alg,
            Some(_) => return None,
            None => Algorithm::RS256,
        },
        _ => return None,
    };
    declared.is_none_or(|alg| alg == implied).then_some(implied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_pass_for_public_destinations() {
        for private in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!allowed(private.parse().expect("ip"), true), "{private}");
        }
        assert!(!allowed("127.0.0.1".parse().expect("ip"), false));
        assert!(
            allowed("127.0.0.1".parse().expect("ip"), true),
            "loopback in development"
        );
        for public in ["8.8.8.8", "2606:4700::1111"] {
            assert!(allowed(public.parse().expect("ip"), false), "{public}");
        }
    }

    #[test]
    fn urls_follow_the_destination_rules() {
        let public = Destinations::Public { allow_loopback: false };
        assert!(check_url("https://keys.example.com/jwks", public).is_ok());
        for bad in [
            "http://keys.example.com/jwks",
            "https://10.0.0.1/jwks",
            "https://[fd00::1]/jwks",
            "http://127.0.0.1:1/jwks",
            "file:///etc/passwd",
        ] {
            assert!(check_url(bad, public).is_err(), "{bad}");
        }
        let dev = Destinations::Public { allow_loopback: true };
        assert!(check_url("http://127.0.0.1:8080/jwks", dev).is_ok());
        assert!(check_url("http://127.0.0.1:8080/jwks", Destinations::Configured).is_ok());
        assert!(check_url("http://keys.internal/jwks", Destinations::Configured).is_err());
    }
}
