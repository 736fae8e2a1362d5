//! The contract every `RegistrationStore` meets, run against memory and a real Redis.

use std::sync::Arc;

use identity_service::registration::{Registration, RegistrationId, RegistrationType};
use identity_service::store::{MemoryRegistrationStore, RedisRegistrationStore, RegistrationStore};
use std::time::Duration;

use identity_service::email::Email;
use shared::jose::unix_now;
use shared::scope::ScopeSet;
use shared::testing::RedisServer;

fn registration() -> Registration {
    let scopes = (
        ScopeSet::parse("a").expect("scope"),
        ScopeSet::parse("a b").expect("scope"),
    );
    let mut registration = Registration::new(
        RegistrationType::Anonymous,
        1,
        Duration::from_secs(1),
        scopes,
        "hash".into(),
    );
    registration.owner_email = Some(Email::parse("owner@example.com").expect("email"));
    registration.revoked_at = Some(4);
    registration
}

async fn contract(store: Arc<dyn RegistrationStore>) {
    store.ping().await.expect("ping");
    let kept = registration();
    store.create(&kept, Some(unix_now() + 3600)).await.expect("create");
    assert_eq!(
        store.get(&kept.id).await.expect("get"),
        Some(kept.clone()),
        "round-trips whole"
    );
    assert!(
        store.create(&kept, None).await.is_err(),
        "an existing id is never overwritten"
    );
    assert_eq!(store.get(&RegistrationId::random()).await.expect("get"), None);

    let dropped = registration();
    store.create(&dropped, Some(unix_now() - 1)).await.expect("create");
    assert_eq!(
        store.get(&dropped.id).await.expect("get"),
        None,
        "gone once its drop time passed"
    );
    let forever = registration();
    store.create(&forever, None).await.expect("create");
    assert!(store.get(&forever.id).await.expect("get").is_some());
}

#[tokio::test]
async fn memory_store_meets_the_contract() {
    contract(Arc::new(MemoryRegistrationStore::default())).await;
}

#[tokio::test]
async fn redis_store_meets_the_contract() {
    let redis = RedisServer::start();
    contract(Arc::new(
        RedisRegistrationStore::connect(&redis.store_settings()).expect("connect"),
    ))
    .await;
}

#[tokio::test]
async fn redis_store_reports_an_outage_as_unavailable() {
    let mut redis = RedisServer::start();
    let store = RedisRegistrationStore::connect(&redis.store_settings()).expect("connect");
    redis.kill();
    let error = store.get(&RegistrationId::random()).await.expect_err("must fail");
    assert!(matches!(error, shared::store::StoreError::Unavailable(_)), "{error:?}");
}
