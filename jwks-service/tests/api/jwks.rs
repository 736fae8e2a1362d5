use std::time::Duration;

use proto::keys::v1::WatchSigningKeysRequest;
use proto::keys::v1::key_service_client::KeyServiceClient;
use serde_json::Value;
use shared::testing::RedisServer;

use crate::helpers::{memory, settings, spawn};

async fn get_jwks(url: &str) -> (reqwest::header::HeaderMap, Value) {
    let response = reqwest::get(url).await.expect("jwks reachable");
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    (headers, response.json().await.expect("jwks is JSON"))
}

#[tokio::test]
async fn jwks_publishes_one_complete_es256_key_with_cache_control() {
    let app = spawn(settings(memory())).await;
    let (headers, jwks) = get_jwks(&app.url("/.well-known/jwks.json")).await;
    assert_eq!(headers["cache-control"], "public, max-age=300");
    assert_eq!(headers["content-type"], "application/jwk-set+json");
    let keys = jwks["keys"].as_array().expect("keys array");
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(key["kty"], "EC");
    assert_eq!(key["crv"], "P-256");
    assert_eq!(key["alg"], "ES256");
    assert_eq!(key["use"], "sig");
    for field in ["x", "y", "kid"] {
        assert!(key[field].as_str().is_some_and(|v| !v.is_empty()), "{field} missing");
    }
    assert!(key.get("d").is_none(), "the private key must never be published");
}

#[tokio::test]
async fn the_key_stream_sends_the_published_key_with_its_private_half() {
    let app = spawn(settings(memory())).await;
    let (_, jwks) = get_jwks(&app.url("/.well-known/jwks.json")).await;
    let mut client = KeyServiceClient::new(shared::testing::pki().channel(app.grpc, "jwks-service"));
    let mut stream = client
        .watch_signing_keys(WatchSigningKeysRequest {})
        .await
        .expect("stream opens")
        .into_inner();
    let set = tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .expect("first key set arrives at once")
        .expect("stream healthy")
        .expect("a key set");
    let active = set.active.expect("an active key");
    assert_eq!(active.kid, jwks["keys"][0]["kid"].as_str().expect("kid"));
    assert_eq!(active.alg, "ES256");
    assert!(!active.private_key_pkcs8.is_empty());
    assert_eq!(set.published.len(), 1);
    assert_eq!(set.published[0].kid, active.kid);
}

#[tokio::test]
async fn eddsa_is_available_by_setting() {
    let mut s = settings(memory());
    s.keys.algorithm = "EdDSA".into();
    let app = spawn(s).await;
    let (_, jwks) = get_jwks(&app.url("/.well-known/jwks.json")).await;
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    assert_eq!(jwks["keys"][0]["crv"], "Ed25519");
    assert_eq!(jwks["keys"][0]["alg"], "EdDSA");
}

#[tokio::test]
async fn an_unknown_algorithm_is_refused_naming_the_setting() {
    let mut s = settings(memory());
    s.keys.algorithm = "HS256".into();
    let err = jwks_service::startup::Application::build(s)
        .await
        .expect_err("must refuse");
    assert!(err.to_string().contains("keys.algorithm"), "{err}");
}

#[tokio::test]
async fn replicas_sharing_redis_publish_the_same_key_and_it_survives_restarts() {
    let redis = RedisServer::start();
    let store = redis.store_settings();
    // Replicas sharing a store share the key-encryption key too.
    let shared_kek = |store: shared::settings::StoreSettings| {
        let mut s = settings(store);
        s.keys.kek.value = Some("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=".into());
        s
    };
    let first = spawn(shared_kek(store.clone())).await;
    let second = spawn(shared_kek(store.clone())).await;
    let (_, a) = get_jwks(&first.url("/.well-known/jwks.json")).await;
    let (_, b) = get_jwks(&second.url("/.well-known/jwks.json")).await;
    assert_eq!(a, b);
    drop((first, second));
    let restarted = spawn(shared_kek(store)).await;
    let (_, c) = get_jwks(&restarted.url("/.well-known/jwks.json")).await;
    assert_eq!(a, c, "the key is persisted, not regenerated");
}

#[tokio::test]
async fn without_redis_the_replica_starts_not_ready_and_says_so() {
    let mut redis = RedisServer::start();
    let store = redis.store_settings();
    redis.kill();
    let app = spawn(settings(store)).await;
    let response = reqwest::get(app.url("/.well-known/jwks.json"))
        .await
        .expect("reachable");
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
    let ready = reqwest::get(app.url("/readyz")).await.expect("reachable");
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.expect("json");
    assert_eq!(body["status"], "not_ready");
    let live = reqwest::get(app.url("/healthz")).await.expect("reachable");
    assert_eq!(live.status(), 200, "liveness does not depend on Redis");
}

#[tokio::test]
async fn every_listed_public_route_is_mounted() {
    let app = spawn(settings(crate::helpers::memory())).await;
    for route in jwks_service::http::ROUTES {
        let response = reqwest::get(app.url(route)).await.expect("reachable");
        assert_eq!(response.status(), 200, "{route}");
    }
    assert_eq!(
        reqwest::get(app.url("/nothing")).await.expect("reachable").status(),
        404
    );
}
