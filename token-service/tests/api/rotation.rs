//! Zero-downtime rotation: tokens issued continuously across two back-to-back rotations
//! all verify with verifiers that cache the JWKS the way stock libraries do. Times are
//! the production defaults scaled down 1500× (publish ahead 15 min → 600 ms; PyJWT's
//! 5 min cache → 200 ms; jose's 10 min cache and 30 s cooldown → 400 ms and 20 ms), and a
//! third verifier never refetches on an unknown kid: only publishing ahead saves it.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use serde_json::Value;

use crate::helpers::{ISSUER, TestSystem, assert_ok, memory, spawn_tuned};

/// A JWKS-caching verifier, like a resource server's.
struct CachingVerifier {
    name: &'static str,
    cache_for: Duration,
    /// Refetch on an unknown `kid`, at most once per this cooldown; `None`: never.
    refetch_cooldown: Option<Duration>,
    cached: Option<(Instant, JwkSet)>,
    last_fetch: Option<Instant>,
}

impl CachingVerifier {
    fn new(name: &'static str, cache_for: Duration, refetch_cooldown: Option<Duration>) -> Self {
        Self {
            name,
            cache_for,
            refetch_cooldown,
            cached: None,
            last_fetch: None,
        }
    }

    async fn fetch(&mut self, jwks_url: &str) -> &JwkSet {
        let set: JwkSet = reqwest::get(jwks_url)
            .await
            .expect("jwks")
            .json()
            .await
            .expect("jwks json");
        self.last_fetch = Some(Instant::now());
        &self.cached.insert((Instant::now(), set)).1
    }

    async fn verify(&mut self, jwks_url: &str, token: &str) -> Result<(), String> {
        let kid = decode_header(token).map_err(|e| e.to_string())?.kid.ok_or("no kid")?;
        let fresh = self
            .cached
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() < self.cache_for);
        if !fresh {
            self.fetch(jwks_url).await;
        }
        let known = self.cached.as_ref().is_some_and(|(_, set)| set.find(&kid).is_some());
        let may_refetch = self
            .refetch_cooldown
            .is_some_and(|cooldown| self.last_fetch.is_none_or(|at| at.elapsed() >= cooldown));
        if !known && may_refetch {
            self.fetch(jwks_url).await;
        }
        let set = &self.cached.as_ref().ok_or("no key set")?.1;
        let jwk = set
            .find(&kid)
            .ok_or_else(|| format!("{}: unknown kid {kid}", self.name))?;
        let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
        let mut validation = Validation::new(jsonwebtoken::Algorithm::ES256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[ISSUER]);
        decode::<Value>(token, &key, &validation)
            .map(|_| ())
            .map_err(|e| format!("{}: {e}", self.name))
    }
}

async fn client_token(system: &TestSystem, id: &str, secret: &str) -> String {
    let response = system
        .http
        .post(system.token_url("/oauth2/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("reachable");
    assert_ok(response).await["access_token"]
        .as_str()
        .expect("token")
        .to_owned()
}

#[tokio::test]
async fn tokens_issued_across_two_rotations_all_verify_with_caching_verifiers() {
    let system = spawn_tuned(
        memory(),
        |jwks| {
            let keys = &mut jwks.keys;
            keys.rotation_period = Duration::from_millis(1500);
            // Published 600-1200 ms before signing: longer than every verifier's cache.
            keys.publish_ahead = Duration::from_millis(600);
            keys.retire_after = Duration::from_millis(1000);
            keys.jwks_max_age = Duration::from_millis(400);
            keys.scheduler_tick = Duration::from_millis(25);
            keys.lease_ttl = Duration::from_millis(250);
        },
        |_| {},
    )
    .await;
    let client = system.create_client(&["reports:read"]).await;
    let jwks_url = format!("http://{}/.well-known/jwks.json", system.jwks.http);
    let mut verifiers = [
        CachingVerifier::new("pyjwt-like", Duration::from_millis(200), Some(Duration::ZERO)),
        CachingVerifier::new("jose-like", Duration::from_millis(400), Some(Duration::from_millis(20))),
        CachingVerifier::new("cache-only", Duration::from_millis(400), None),
    ];
    let mut kids = BTreeSet::new();
    let mut failures = Vec::new();
    let started = Instant::now();
    let mut issued = 0;
    while started.elapsed() < Duration::from_millis(3600) {
        let token = client_token(&system, &client.id, &client.secret).await;
        kids.insert(decode_header(&token).expect("header").kid.expect("kid"));
        for verifier in &mut verifiers {
            if let Err(failure) = verifier.verify(&jwks_url, &token).await {
                failures.push(failure);
            }
        }
        issued += 1;
    }
    assert!(
        failures.is_empty(),
        "{} of {issued} verifications failed: {failures:?}",
        failures.len()
    );
    assert!(kids.len() >= 3, "two rotations means three signing keys, saw {kids:?}");
}
