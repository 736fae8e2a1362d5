//! The contract every `KeyStore` meets, run against memory and a real Redis.

use std::sync::Arc;
use std::time::Duration;

use jwks_service::keys::store::KeyStore;
use jwks_service::keys::{Kek, KekRing, generate};
use jwks_service::store::{MemoryKeyStore, RedisKeyStore};
use protocol::jose::Algorithm;
use shared::testing::RedisServer;

async fn contract(store: Arc<dyn KeyStore>) {
    store.ping().await.expect("ping");
    assert!(store.all().await.expect("read").is_empty(), "empty at first");
    let keks = KekRing {
        current: Kek::ephemeral(),
        previous: Vec::new(),
    };
    let first = generate(Algorithm::ES256, 1, &keks.current).expect("key");
    let second = generate(Algorithm::ES256, 2, &keks.current).expect("key");
    assert!(store.insert_for_slot("slot-1", &first).await.expect("insert"));
    assert!(
        !store.insert_for_slot("slot-1", &second).await.expect("insert"),
        "a slot is filled once"
    );
    assert!(store.insert_for_slot("slot-2", &second).await.expect("insert"));
    let mut all = store.all().await.expect("read");
    all.sort_by_key(|k| k.created_at);
    assert_eq!(all, vec![first.clone(), second.clone()]);
    assert_eq!(
        all[0].private_key_der(&keks),
        first.private_key_der(&keks),
        "round-trips"
    );
    let rewrapped = second.rewrapped(&keks).expect("rewrap");
    assert!(store.replace(&rewrapped).await.expect("replace"));
    store.remove(&first.kid).await.expect("remove");
    assert_eq!(store.all().await.expect("read"), vec![rewrapped]);
    assert!(
        !store.replace(&first).await.expect("replace"),
        "a removed key is not resurrected"
    );
    assert!(
        !store.insert_for_slot("slot-1", &first).await.expect("insert"),
        "removal frees no slot"
    );
}

async fn lease_contract(store: Arc<dyn KeyStore>) {
    let ttl = Duration::from_millis(300);
    assert!(store.lease("a", ttl).await.expect("lease"));
    assert!(!store.lease("b", ttl).await.expect("lease"), "held by a");
    assert!(store.lease("a", ttl).await.expect("lease"), "a renews");
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    assert!(
        store.lease("b", ttl).await.expect("lease"),
        "b takes over once a lapses"
    );
    assert!(!store.lease("a", ttl).await.expect("lease"));
}

async fn racing_slots_have_one_winner(store: Arc<dyn KeyStore>) {
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let key = generate(Algorithm::ES256, i, &Kek::ephemeral()).expect("key");
                store.insert_for_slot("contested", &key).await.expect("insert")
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        winners += usize::from(task.await.expect("task"));
    }
    assert_eq!(winners, 1);
}

#[tokio::test]
async fn memory_store_meets_the_contract() {
    contract(Arc::new(MemoryKeyStore::default())).await;
    lease_contract(Arc::new(MemoryKeyStore::default())).await;
    racing_slots_have_one_winner(Arc::new(MemoryKeyStore::default())).await;
}

#[tokio::test]
async fn redis_store_meets_the_contract() {
    let redis = RedisServer::start();
    let connect = || Arc::new(RedisKeyStore::connect(&redis.store_settings()).expect("connect"));
    contract(connect()).await;
    lease_contract(connect()).await;
    racing_slots_have_one_winner(connect()).await;
}

#[tokio::test]
async fn redis_cluster_store_meets_the_contract() {
    let cluster = shared::testing::RedisCluster::start();
    let connect = || Arc::new(RedisKeyStore::connect(&cluster.store_settings()).expect("connect"));
    contract(connect()).await;
    lease_contract(connect()).await;
    racing_slots_have_one_winner(connect()).await;
    println!("keys per cluster node: {:?}", cluster.keys_per_node());
}
