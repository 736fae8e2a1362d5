//! One provider's published JWK set (RFC 7517 §5): fetched over HTTP within a time and size
//! limit, cached for its `Cache-Control: max-age`, kept as keys ready to verify with.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use reqwest::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use shared::settings::SettingsError;
use url::{Host, Url};

use super::ProviderKeySettings;

/// Key sets are a few KiB; anything this large is not one.
const MAX_JWKS_BYTES: usize = 256 * 1024;
/// RFC 7517 §8.5 registers `application/jwk-set+json`; most providers serve plain JSON.
const JWKS_MEDIA_TYPES: [&str; 2] = ["application/jwk-set+json", "application/json"];

/// A provider's signing keys by `kid`, as fetched at `fetched_at`.
pub(super) struct KeySet {
    keys: HashMap<String, VerifyingKey>,
    fetched_at: Instant,
    max_age: Duration,
}

#[derive(Clone)]
pub(super) struct VerifyingKey {
    /// Taken from the key, never from a token's header (RFC 8725 §3.1).
    pub(super) alg: Algorithm,
    pub(super) key: DecodingKey,
}

impl KeySet {
    pub(super) fn is_fresh(&self) -> bool {
        self.fetched_at.elapsed() < self.max_age
    }

    pub(super) fn get(&self, kid: &str) -> Option<&VerifyingKey> {
        self.keys.get(kid)
    }
}

/// Fetches key sets: one HTTP client for every provider, and the cache bounds.
pub(super) struct JwksClient {
    http: reqwest::Client,
    min_cache: Duration,
    max_cache: Duration,
}

impl JwksClient {
    pub(super) fn new(settings: &ProviderKeySettings) -> Result<Self, SettingsError> {
        if settings.min_cache > settings.max_cache {
            return Err(SettingsError::invalid("min_cache", "must not exceed max_cache"));
        }
        let http = reqwest::Client::builder()
            .timeout(settings.fetch_timeout)
            // The configured `jwks_uri` is the key source; a redirect could leave https.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SettingsError::invalid("providers", format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            min_cache: settings.min_cache,
            max_cache: settings.max_cache,
        })
    }

    pub(super) async fn fetch(&self, jwks_uri: &Url) -> Result<KeySet, String> {
        let fetched_at = Instant::now();
        let mut response = self
            .http
            .get(jwks_uri.clone())
            .header(ACCEPT, JWKS_MEDIA_TYPES.join(", "))
            .send()
            .await
            .map_err(|e| e.to_string())?;
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
        let set: JwkSet = serde_json::from_slice(&body).map_err(|e| format!("not a JWK set: {e}"))?;
        Ok(KeySet {
            keys: verifying_keys(set),
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
        let min = self.min_cache;
        max_age.map_or(min, |secs| Duration::from_secs(secs).clamp(min, self.max_cache))
    }
}

pub(super) fn parse_jwks_uri(key: &str, value: &str) -> Result<Url, SettingsError> {
    let url = Url::parse(value).map_err(|e| SettingsError::invalid(key, format!("`{value}` is not a URL: {e}")))?;
    let loopback = match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name == "localhost",
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(SettingsError::invalid(
            key,
            format!("`{value}` must be https (http only on loopback)"),
        )),
    }
}

/// The signing keys of a fetched set, by kid; keys we cannot use are left out.
fn verifying_keys(set: JwkSet) -> HashMap<String, VerifyingKey> {
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let Some(kid) = jwk.common.key_id.as_ref() else {
            continue;
        };
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
                keys.entry(kid.clone()).or_insert(VerifyingKey { alg, key });
            }
            None => tracing::debug!(%kid, "provider key skipped: unsupported or malformed"),
        }
    }
    keys
}

/// The algorithm a published key verifies: its `alg`, which must fit the key, or the one its
/// type implies. Symmetric keys are never accepted from a published set.
fn signing_algorithm(jwk: &Jwk) -> Option<Algorithm> {
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
