//! The rotation schedule across replicas: only the lease holder acts on it, another
//! replica takes over when the holder dies, and no slot ever gets two keys.

use std::time::Duration;

use proto::keys::v1::key_admin_client::KeyAdminClient;
use proto::keys::v1::key_service_client::KeyServiceClient;
use proto::keys::v1::{KeyInfo, ListKeysRequest, RotateRequest, WatchSigningKeysRequest};
use shared::settings::StoreSettings;
use shared::testing::RedisServer;

use crate::helpers::{TestApp, memory, settings, spawn};

const ROTATION_MS: i64 = 1000;

fn fast(store: StoreSettings) -> jwks_service::settings::Settings {
    let mut s = settings(store);
    s.keys.kek.value = Some("AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=".into());
    s.keys.rotation_period = Duration::from_millis(ROTATION_MS as u64);
    s.keys.publish_ahead = Duration::from_millis(300);
    s.keys.retire_after = Duration::from_millis(600);
    s.keys.jwks_max_age = Duration::from_millis(300);
    s.keys.scheduler_tick = Duration::from_millis(25);
    s.keys.lease_ttl = Duration::from_millis(200);
    s.keys.max_published = 10;
    s
}

async fn list(app: &TestApp) -> Vec<KeyInfo> {
    let mut admin = KeyAdminClient::new(shared::testing::pki().channel(app.grpc, "jwks-service"));
    admin
        .list_keys(ListKeysRequest {})
        .await
        .expect("list")
        .into_inner()
        .keys
}

#[tokio::test]
async fn when_the_lease_holder_dies_another_replica_rotates_on_time() {
    let redis = RedisServer::start();
    let store = redis.store_settings();
    // The first replica takes the lease and makes the first key while starting.
    let holder = spawn(fast(store.clone())).await;
    let standby = spawn(fast(store.clone())).await;
    let genesis = list(&standby).await;
    assert_eq!(genesis.len(), 1);
    drop(holder);

    // The standby's own key stream says when it rotated: wait for two successors.
    let mut stream = KeyServiceClient::new(shared::testing::pki().channel(standby.grpc, "jwks-service"))
        .watch_signing_keys(WatchSigningKeysRequest {})
        .await
        .expect("watch")
        .into_inner();
    // Every key the standby lists on each change it streams, until two successors of
    // the genesis key have become active.
    let mut seen = std::collections::BTreeMap::new();
    let mut actives = std::collections::BTreeSet::new();
    let limit = Duration::from_millis((ROTATION_MS as u64) * 10);
    tokio::time::timeout(limit, async {
        while actives.len() < 3 {
            let set = stream.message().await.expect("stream").expect("stream stays open");
            actives.insert(set.active.expect("an active key").kid);
            for key in list(&standby).await {
                seen.insert(key.kid.clone(), key.activate_at_ms);
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the standby did not rotate twice within {limit:?}: saw {seen:?}"));
    assert!(actives.iter().all(|kid| seen.contains_key(kid)), "{actives:?} {seen:?}");
    let mut activations: Vec<i64> = seen.values().copied().collect();
    activations.sort_unstable();
    let unique = activations.iter().collect::<std::collections::BTreeSet<_>>().len();
    assert_eq!(unique, activations.len(), "no slot has two keys: {seen:?}");
    for pair in activations.windows(2) {
        assert_eq!(
            pair[1] - pair[0],
            ROTATION_MS,
            "each successor on its slot, not late: {seen:?}"
        );
    }
    let keys = list(&standby).await;
    assert_eq!(keys.iter().filter(|k| k.state == "active").count(), 1);
}

#[tokio::test]
async fn an_operator_rotation_publishes_ahead_or_now() {
    let app = spawn(settings(memory())).await;
    let mut admin = KeyAdminClient::new(shared::testing::pki().channel(app.grpc, "jwks-service"));
    let first = list(&app).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].state, "active");

    let ahead = admin
        .rotate(RotateRequest { immediate: false })
        .await
        .expect("rotate")
        .into_inner();
    assert_eq!(ahead.state, "next");
    let jwks: serde_json::Value = reqwest::get(app.url("/.well-known/jwks.json"))
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    let published: Vec<&str> = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert!(
        published.contains(&ahead.kid.as_str()),
        "a next key is published before it signs"
    );

    let now = admin
        .rotate(RotateRequest { immediate: true })
        .await
        .expect("rotate")
        .into_inner();
    let keys = list(&app).await;
    let state_of = |kid: &str| keys.iter().find(|k| k.kid == kid).map(|k| k.state.clone());
    assert_eq!(state_of(&now.kid).as_deref(), Some("active"));
    assert_eq!(
        state_of(&first[0].kid).as_deref(),
        Some("retiring"),
        "the old key stays published"
    );
    assert_eq!(state_of(&ahead.kid).as_deref(), Some("next"));
}
