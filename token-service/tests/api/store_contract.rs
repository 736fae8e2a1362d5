//! The contracts of token-service's stores, run against memory and a real Redis.

use std::sync::Arc;

use shared::jose::unix_now;
use shared::scope::ScopeSet;
use shared::secrets::{Secret, SecretHasher};
use shared::testing::RedisServer;
use token_service::clients::{ClientId, new_client};
use token_service::store::{ClientStore, DenylistStore, MemoryClientStore, MemoryDenylist, Stores, from_settings};

async fn denylist_contract(denylist: Arc<dyn DenylistStore>) {
    denylist.ping().await.expect("ping");
    assert!(!denylist.is_denied("jti-1").await.expect("read"));
    denylist.deny("jti-1", unix_now() + 600).await.expect("deny");
    assert!(denylist.is_denied("jti-1").await.expect("read"));
    assert!(!denylist.is_denied("jti-2").await.expect("read"));
    denylist.deny("jti-3", unix_now() - 1).await.expect("deny");
    assert!(
        !denylist.is_denied("jti-3").await.expect("read"),
        "entries end with the token"
    );
}

async fn client_contract(clients: Arc<dyn ClientStore>) {
    let hasher = SecretHasher::new(&Secret::new(b"pepper".to_vec()));
    let created = new_client(&hasher, "reports", ScopeSet::parse("a b").expect("scope"), 7);
    clients.create(&created.client).await.expect("create");
    let read = clients
        .get(&created.client.client_id)
        .await
        .expect("get")
        .expect("present");
    assert_eq!(read, created.client);
    assert!(hasher.verify(
        token_service::clients::CLIENT_SECRET_CONTEXT,
        &created.secret,
        &read.secret_hash
    ));
    assert!(!read.secret_hash.contains(&created.secret), "only the hash is stored");
    assert!(clients.create(&created.client).await.is_err(), "never overwritten");
    assert_eq!(clients.get(&ClientId::random()).await.expect("get"), None);
}

#[tokio::test]
async fn memory_stores_meet_the_contracts() {
    denylist_contract(Arc::new(MemoryDenylist::default())).await;
    client_contract(Arc::new(MemoryClientStore::default())).await;
}

#[tokio::test]
async fn redis_stores_meet_the_contracts() {
    let redis = RedisServer::start();
    let Stores { denylist, clients } = from_settings(&redis.store_settings()).expect("connect");
    denylist_contract(denylist).await;
    client_contract(clients).await;
}

#[tokio::test]
async fn redis_cluster_stores_meet_the_contracts() {
    let cluster = shared::testing::RedisCluster::start();
    let Stores { denylist, clients } = from_settings(&cluster.store_settings()).expect("connect");
    denylist_contract(denylist).await;
    client_contract(clients).await;
    println!("keys per cluster node: {:?}", cluster.keys_per_node());
}
