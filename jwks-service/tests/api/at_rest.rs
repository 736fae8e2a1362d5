//! Private keys at rest: sealed under the KEK, so the raw Redis value is useless without
//! it, and a KEK rotation keeps old keys readable through `previous_keks`.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jwks_service::settings::Settings;
use proto::keys::v1::RewrapRequest;
use proto::keys::v1::WatchSigningKeysRequest;
use proto::keys::v1::key_admin_client::KeyAdminClient;
use proto::keys::v1::key_service_client::KeyServiceClient;
use shared::settings::{Profile, SecretSetting, ServiceSettings, StoreSettings};
use shared::testing::RedisServer;

use crate::helpers::{TestApp, settings, spawn};

fn kek_setting(byte: u8) -> SecretSetting {
    SecretSetting {
        value: Some(STANDARD.encode([byte; 32])),
        file: None,
    }
}

fn with_keks(store: StoreSettings, current: u8, previous: &[u8]) -> Settings {
    let mut s = settings(store);
    s.keys.kek = kek_setting(current);
    s.keys.previous_keks = previous.iter().map(|b| kek_setting(*b)).collect();
    s
}

async fn streamed_private_key(app: &TestApp) -> Vec<u8> {
    let mut client = KeyServiceClient::new(shared::testing::pki().channel(app.grpc, "jwks-service"));
    let mut stream = client
        .watch_signing_keys(WatchSigningKeysRequest {})
        .await
        .expect("stream")
        .into_inner();
    let set = tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .expect("a key set in time")
        .expect("stream healthy")
        .expect("a key set");
    set.active.expect("active key").private_key_pkcs8
}

async fn raw_record(redis: &RedisServer, store: &StoreSettings) -> String {
    let client = redis::Client::open(redis.url()).expect("client");
    let mut conn = client.get_multiplexed_async_connection().await.expect("connect");
    let key = format!("{}jwks:keys:set", store.key_prefix);
    let fields: Vec<(String, String)> = redis::cmd("HGETALL")
        .arg(key)
        .query_async(&mut conn)
        .await
        .expect("raw read");
    let records: Vec<String> = fields
        .into_iter()
        .filter(|(field, _)| field.starts_with("key:"))
        .map(|(_, record)| record)
        .collect();
    assert_eq!(records.len(), 1, "one key stored");
    records.concat()
}

#[tokio::test]
async fn the_stored_key_is_unreadable_without_the_kek() {
    let redis = RedisServer::start();
    let store = redis.store_settings();
    let app = spawn(with_keks(store.clone(), 1, &[])).await;
    let der = streamed_private_key(&app).await;
    let raw = raw_record(&redis, &store).await;
    assert!(
        !raw.contains(&STANDARD.encode(&der)[..32]),
        "the PKCS#8 is not stored in clear"
    );
    let record: serde_json::Value = serde_json::from_str(&raw).expect("json record");
    assert!(record["sealed_private_key"]["kek_id"].is_string(), "{record}");
    assert!(record.get("d").is_none() && record["public_jwk"].get("d").is_none());
    drop(app);

    // Another KEK cannot open it: the replica stays not ready instead of serving garbage.
    let wrong = spawn(with_keks(store.clone(), 2, &[])).await;
    let jwks = reqwest::get(wrong.url("/.well-known/jwks.json"))
        .await
        .expect("reachable");
    assert_eq!(jwks.status(), 503);
    assert_eq!(
        reqwest::get(wrong.url("/readyz")).await.expect("reachable").status(),
        503
    );
    drop(wrong);

    // KEK rotation: the new KEK seals, the old one still opens what it sealed.
    let rotated = spawn(with_keks(store.clone(), 2, &[1])).await;
    assert_eq!(streamed_private_key(&rotated).await, der, "same key, still readable");

    // `agentctl keys rewrap`: re-sealed under the new KEK, the old one can go.
    let mut admin = KeyAdminClient::new(shared::testing::pki().channel(rotated.grpc, "jwks-service"));
    let rewrap = admin.rewrap(RewrapRequest {}).await.expect("rewrap").into_inner();
    assert_eq!(rewrap.rewrapped, 1);
    let again = admin.rewrap(RewrapRequest {}).await.expect("rewrap").into_inner();
    assert_eq!(again.rewrapped, 0, "nothing left under the old KEK");
    drop(rotated);
    let only_new = spawn(with_keks(store, 2, &[])).await;
    assert_eq!(
        streamed_private_key(&only_new).await,
        der,
        "readable without the old KEK"
    );
}

#[test]
fn production_refuses_to_start_without_a_kek() {
    let s = Settings {
        common: shared::serve::CommonSettings {
            profile: Profile::Production,
            ..Settings::default().common
        },
        ..Settings::default()
    };
    let err = s.validate().expect_err("must refuse");
    assert!(err.to_string().contains("keys.kek"), "{err}");
    let mut bad = s.clone();
    bad.keys.kek = SecretSetting {
        value: Some("too-short".into()),
        file: None,
    };
    assert!(
        bad.validate()
            .expect_err("must refuse")
            .to_string()
            .contains("keys.kek")
    );
}
