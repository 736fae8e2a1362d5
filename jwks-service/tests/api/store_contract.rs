//! The contract every `KeyStore` meets, run against memory and a real Redis.

use std::sync::Arc;

use jwks_service::keys::{Kek, KekRing, generate};
use jwks_service::store::{KeyStore, MemoryKeyStore, RedisKeyStore};
use shared::jose::Algorithm;
use shared::testing::RedisServer;

async fn contract(store: Arc<dyn KeyStore>) {
    assert!(store.active().await.expect("read").is_none(), "empty at first");
    let keks = KekRing {
        current: Kek::ephemeral(),
        previous: Vec::new(),
    };
    let first = generate(Algorithm::ES256, 1, &keks.current).expect("key");
    let second = generate(Algorithm::ES256, 2, &keks.current).expect("key");
    assert_eq!(store.activate_first(first.clone()).await.expect("activate"), first);
    assert_eq!(
        store.activate_first(second).await.expect("activate"),
        first,
        "the first activation wins"
    );
    let active = store.active().await.expect("read").expect("active key");
    assert_eq!(active, first);
    assert_eq!(
        active.private_key_der(&keks),
        first.private_key_der(&keks),
        "private key round-trips"
    );
    store.ping().await.expect("ping");
}

async fn racing_activations_agree(store: Arc<dyn KeyStore>) {
    let candidates: Vec<_> = (0..8)
        .map(|i| generate(Algorithm::ES256, i, &Kek::ephemeral()).expect("key"))
        .collect();
    let tasks: Vec<_> = candidates
        .into_iter()
        .map(|key| {
            let store = store.clone();
            tokio::spawn(async move { store.activate_first(key).await.expect("activate").kid })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        winners.push(task.await.expect("task"));
    }
    winners.dedup();
    assert_eq!(winners.len(), 1, "every racer sees the same active key");
}

#[tokio::test]
async fn memory_store_meets_the_contract() {
    contract(Arc::new(MemoryKeyStore::default())).await;
    racing_activations_agree(Arc::new(MemoryKeyStore::default())).await;
}

#[tokio::test]
async fn redis_store_meets_the_contract() {
    let redis = RedisServer::start();
    contract(Arc::new(
        RedisKeyStore::connect(&redis.store_settings()).expect("connect"),
    ))
    .await;
    racing_activations_agree(Arc::new(
        RedisKeyStore::connect(&redis.store_settings()).expect("connect"),
    ))
    .await;
}
