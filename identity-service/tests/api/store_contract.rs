//! The contracts every identity store meets, run against memory and a real Redis.

use std::sync::Arc;

use identity_service::registration::store::{DelegationStore, RegistrationStore, UserDirectory};
use identity_service::registration::{Registration, RegistrationId, RegistrationType};
use identity_service::store::{MemoryLinks, MemoryRegistrationStore, RedisLinks, RedisRegistrationStore};
use shared::store::replay::{MemoryReplayCache, RedisReplayCache, ReplayCache};
use std::time::Duration;

use identity_service::email::Email;
use protocol::scope::ScopeSet;
use shared::testing::RedisServer;
use shared::time::unix_now;

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

    let mut next = kept.clone();
    next.version = kept.version + 1;
    next.claimed_at = Some(7);
    assert!(
        !store.update(&next, kept.version + 5, None).await.expect("update"),
        "a stale version loses"
    );
    assert!(
        store.update(&next, kept.version, None).await.expect("update"),
        "the current one wins"
    );
    assert_eq!(store.get(&kept.id).await.expect("get"), Some(next.clone()));
    assert!(
        !store.update(&next, kept.version, None).await.expect("update"),
        "and cannot win twice"
    );
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

/// Records written as JSON before the compact form are read, updated by their version,
/// and rewritten compact; a compact record is a fraction of the JSON one.
#[tokio::test]
async fn a_redis_record_stored_as_json_is_read_updated_and_rewritten_compact() {
    let redis = RedisServer::start();
    let settings = redis.store_settings();
    let store = RedisRegistrationStore::connect(&settings).expect("connect");
    let legacy = registration();
    let key = format!("{}identity:reg:{}", settings.key_prefix, legacy.id);
    let json = serde_json::to_string(&legacy).expect("json");
    let mut raw = redis::Client::open(redis.url())
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg(&json)
        .query_async(&mut raw)
        .await
        .expect("SET");
    assert_eq!(store.get(&legacy.id).await.expect("get"), Some(legacy.clone()));

    let mut next = legacy.clone();
    next.version += 1;
    next.claimed_at = Some(9);
    assert!(
        !store.update(&next, legacy.version + 1, None).await.expect("update"),
        "the JSON record's version guards it"
    );
    assert!(store.update(&next, legacy.version, None).await.expect("update"));
    assert_eq!(store.get(&legacy.id).await.expect("get"), Some(next));
    let stored: Vec<u8> = redis::cmd("GET").arg(&key).query_async(&mut raw).await.expect("GET");
    assert!(stored.starts_with(b"v1:"), "rewritten compact: {stored:?}");
    assert!(
        stored.len() * 3 < json.len(),
        "{} bytes against {} of JSON",
        stored.len(),
        json.len()
    );
}

#[tokio::test]
async fn redis_store_reports_an_outage_as_unavailable() {
    let mut redis = RedisServer::start();
    let store = RedisRegistrationStore::connect(&redis.store_settings()).expect("connect");
    redis.kill();
    let error = store.get(&RegistrationId::random()).await.expect_err("must fail");
    assert!(matches!(error, shared::store::StoreError::Unavailable(_)), "{error:?}");
}

/// The contract of the link stores (delegations, revocations, users).
async fn links_contract<L>(links: Arc<L>)
where
    L: DelegationStore + UserDirectory + 'static,
{
    let now = unix_now();
    let (a, b) = (RegistrationId::random(), RegistrationId::random());
    assert_eq!(links.delegation("iss", "sub").await.expect("get"), None);
    assert_eq!(links.link_delegation("iss", "sub", &a).await.expect("link"), a);
    assert_eq!(
        links.link_delegation("iss", "sub", &b).await.expect("link"),
        a,
        "the first link stands"
    );
    links.unlink_delegation("iss", "sub").await.expect("unlink");
    assert_eq!(links.delegation("iss", "sub").await.expect("get"), None);

    assert_eq!(links.revoked_through("iss", "sub").await.expect("get"), None);
    links
        .record_revocation("iss", "sub", now - 5, now + 3600)
        .await
        .expect("record");
    assert_eq!(links.revoked_through("iss", "sub").await.expect("get"), Some(now - 5));
    assert_eq!(links.revoked_through("iss", "other").await.expect("get"), None);
    links
        .record_revocation("iss", "gone", now, now - 1)
        .await
        .expect("record");
    assert_eq!(
        links.revoked_through("iss", "gone").await.expect("get"),
        None,
        "forgotten after until"
    );

    let email = Email::parse("human@example.com").expect("email");
    assert!(!links.user_exists(&email).await.expect("get"));
    assert!(links.owned_by(&email).await.expect("owned").is_empty());
    let (first, second) = (RegistrationId::random(), RegistrationId::random());
    links.record_owned(&email, &first).await.expect("record");
    links.record_owned(&email, &second).await.expect("record");
    links.record_owned(&email, &first).await.expect("again");
    let same_human = Email::parse("HUMAN@example.com").expect("email");
    assert!(links.user_exists(&same_human).await.expect("get"));
    let mut owned = links.owned_by(&same_human).await.expect("owned");
    owned.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    let mut expected = vec![first, second];
    expected.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    assert_eq!(
        owned, expected,
        "each registration once, found by any spelling of the address"
    );
    let other = Email::parse("other@example.com").expect("email");
    assert!(links.owned_by(&other).await.expect("owned").is_empty());
}

/// The replay cache of provider token ids (`shared`'s, in identity's keyspace).
async fn replay_contract(links: Arc<dyn ReplayCache>) {
    let now = unix_now();
    // Replay entries live until their own `until`, however far ahead, in both stores.
    assert!(
        links
            .first_use("iss", "jti-1", now + 30 * 24 * 3600)
            .await
            .expect("first")
    );
    assert!(!links.first_use("iss", "jti-1", now + 60).await.expect("replay"));
    assert!(
        links
            .first_use("other-iss", "jti-1", now + 60)
            .await
            .expect("keyed by iss too")
    );
    // A few seconds ahead, not one: `now` was read at the start, and a second boundary
    // passing since must not expire the entry before the replay is tried.
    assert!(links.first_use("iss", "jti-2", now + 5).await.expect("first"));
    assert!(
        !links
            .first_use("iss", "jti-2", now + 5)
            .await
            .expect("kept until it expires")
    );
    for i in 0..100 {
        assert!(
            links
                .first_use("iss", &format!("old-{i}"), now - 1)
                .await
                .expect("expired at once")
        );
    }
    assert!(
        !links
            .first_use("iss", "jti-1", now + 60)
            .await
            .expect("survives the pruning")
    );
}

/// Identity's replay cache over `settings`, keyed as the store keys it.
fn redis_replay(settings: &shared::settings::StoreSettings) -> Arc<dyn ReplayCache> {
    Arc::new(RedisReplayCache::new(
        shared::store::connect_redis(settings).expect("connect"),
        shared::store::Keyspace::new(&settings.key_prefix, "identity"),
    ))
}

#[tokio::test]
async fn memory_links_meet_the_contract() {
    links_contract(Arc::new(MemoryLinks::default())).await;
    replay_contract(Arc::new(MemoryReplayCache::default())).await;
}

#[tokio::test]
async fn redis_links_meet_the_contract() {
    let redis = RedisServer::start();
    links_contract(Arc::new(RedisLinks::connect(&redis.store_settings()).expect("connect"))).await;
    replay_contract(redis_replay(&redis.store_settings())).await;
}

/// Every identity store against one topology, as `store.redis_url` names it.
async fn contracts_over(settings: &shared::settings::StoreSettings) {
    contract(Arc::new(RedisRegistrationStore::connect(settings).expect("connect"))).await;
    links_contract(Arc::new(RedisLinks::connect(settings).expect("connect"))).await;
    replay_contract(redis_replay(settings)).await;
    let authorizations = identity_service::store::RedisAuthorizations::connect(settings).expect("connect");
    crate::authorize_store::contract(Arc::new(authorizations)).await;
    let sessions = identity_service::store::RedisSessions::connect(settings).expect("connect");
    crate::authorize_store::session_contract(Arc::new(sessions)).await;
}

#[tokio::test]
async fn identity_stores_meet_the_contracts_on_a_redis_cluster() {
    let cluster = shared::testing::RedisCluster::start();
    contracts_over(&cluster.store_settings()).await;
    let spread = cluster.keys_per_node();
    println!("keys per cluster node: {spread:?}");
    assert!(
        spread.iter().filter(|n| **n > 0).count() > 1,
        "keys spread over the masters: {spread:?}"
    );
}

#[tokio::test]
async fn identity_stores_meet_the_contracts_through_sentinel() {
    let sentinel = shared::testing::RedisSentinel::start();
    contracts_over(&sentinel.store_settings()).await;
}

#[tokio::test]
async fn identity_stores_meet_the_contracts_over_tls() {
    let tls = shared::testing::RedisTls::start();
    contracts_over(&tls.store_settings()).await;
    let untrusted = shared::settings::StoreSettings {
        tls_ca_file: None,
        ..tls.store_settings()
    };
    let store = RedisRegistrationStore::connect(&untrusted).expect("lazy connect");
    let refused = store.get(&RegistrationId::random()).await;
    assert!(
        matches!(refused, Err(shared::store::StoreError::Unavailable(_))),
        "an unknown CA is refused"
    );
}

#[tokio::test]
async fn after_a_sentinel_failover_the_store_writes_to_the_new_master() {
    let sentinel = shared::testing::RedisSentinel::start_with_replica();
    let settings = sentinel.store_settings();
    let store = RedisRegistrationStore::connect(&settings).expect("connect");
    let before = registration();
    store.create(&before, None).await.expect("create on the first master");
    sentinel.fail_over();
    // The demoted master answers READONLY (or nothing): the store asks the sentinel again.
    let after = registration();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let mut failures = 0;
    while store.create(&after, None).await.is_err() {
        failures += 1;
        assert!(std::time::Instant::now() < deadline, "no write reached the new master");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("writes refused during the failover: {failures}");
    assert!(failures >= 1, "the first write met the demoted master");
    assert_eq!(
        store.get(&before.id).await.expect("get"),
        Some(before),
        "replicated before the failover"
    );
    // The write is on the promoted server itself, not on the demoted one.
    let promoted = shared::settings::StoreSettings {
        redis_url: format!("redis://127.0.0.1:{}", sentinel.replica_port.expect("replica")),
        ..settings
    };
    let direct = RedisRegistrationStore::connect(&promoted).expect("connect");
    assert!(direct.get(&after.id).await.expect("get").is_some());
}

/// Registrations exactly as earlier versions stored them, frozen byte for byte: a
/// release must read what the one before it wrote (docs/operations.md, "Upgrades and
/// rollback"). `V1` is the compact form (`v1:` + postcard, since 0.1.0's 6b69d91); `JSON`
/// is the form before it, from a version that had no `claim_email`, `delegation` or
/// `jkt`. If this test fails, the change broke an upgrade: add a new version prefix
/// instead of changing what `v1` means.
const V1: &str = "76333ae203455e98b18cf3a4da0f20192d09d400000204010468617368010161020161016201246174745f383039653834\
                  6632313963363635613534303431306639366436353234643432116875\
                  6d616e406578616d706c652e636f6d03767468b0cd9fd50c01046f747068f8ce9fd50c0201116f776e6572406578616d70\
                  6c652e636f6d01116e616d6564406578616d706c652e636f6d011868747470733a2f2f70726f76696465722e6578616d70\
                  6c6506757365722d3780c49fd50c000108012b305a634f434f525a4e59792d445770717133306a5a794a4748544e30643248\
                  676c42563375696775413449";
const JSON: &str = r#"{"id":"reg_e203455e98b18cf3a4da0f20192d09d4","registration_type":"anonymous","client_id":"reg_e203455e98b18cf3a4da0f20192d09d4","created_at":1,"claim_expires_at":2,"claim_token_hash":"hash","pre_claim_scopes":["a"],"post_claim_scopes":["a","b"],"claim_attempt":{"id":"att_809e84f219c665a540410f96d6524d42","email":"human@example.com","view_token_hash":"vth","link_expires_at":1700000600,"otp":{"hash":"otph","expires_at":1700000700,"failures":2}},"owner_email":"owner@example.com","claimed_at":null,"revoked_at":4,"version":3}"#;

#[tokio::test]
async fn registrations_stored_by_earlier_versions_are_read() {
    use identity_service::registration::{AttemptId, ClaimAttempt, Delegation, Otp};
    let redis = RedisServer::start();
    let settings = redis.store_settings();
    let store = RedisRegistrationStore::connect(&settings).expect("connect");
    let mut raw = redis::Client::open(redis.url())
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let id = RegistrationId::parse("reg_e203455e98b18cf3a4da0f20192d09d4").expect("id");
    let key = format!("{}identity:reg:{id}", settings.key_prefix);
    let hex: String = V1.split_whitespace().collect();
    let v1: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect();
    let attempt = ClaimAttempt {
        id: AttemptId::parse("att_809e84f219c665a540410f96d6524d42").expect("id"),
        email: Email::parse("human@example.com").expect("email"),
        view_token_hash: "vth".into(),
        link_expires_at: 1_700_000_600,
        otp: Some(Otp {
            hash: "otph".into(),
            expires_at: 1_700_000_700,
            failures: 2,
        }),
    };
    let mut expected = Registration {
        client_id: id.to_string(),
        id: id.clone(),
        registration_type: RegistrationType::Anonymous,
        created_at: 1,
        claim_expires_at: 2,
        claim_token_hash: Some("hash".into()),
        pre_claim_scopes: ScopeSet::parse("a").expect("scope"),
        post_claim_scopes: ScopeSet::parse("a b").expect("scope"),
        claim_attempt: Some(attempt),
        owner_email: Some(Email::parse("owner@example.com").expect("email")),
        claim_email: None,
        delegation: None,
        claimed_at: None,
        revoked_at: Some(4),
        jkt: None,
        delegable_scopes: None,
        version: 3,
    };
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg(JSON)
        .query_async(&mut raw)
        .await
        .expect("SET");
    assert_eq!(
        store.get(&id).await.expect("the JSON form reads"),
        Some(expected.clone())
    );

    expected.claim_email = Some(Email::parse("named@example.com").expect("email"));
    expected.delegation = Some(Delegation {
        iss: "https://provider.example".into(),
        sub: "user-7".into(),
        issued_at: 1_700_000_000,
    });
    expected.jkt = Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I".into());
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg(&v1)
        .query_async(&mut raw)
        .await
        .expect("SET");
    assert_eq!(store.get(&id).await.expect("the v1 form reads"), Some(expected.clone()));
    let mut next = expected.clone();
    next.version += 1;
    assert!(
        store.update(&next, expected.version, None).await.expect("update"),
        "and updates by its version"
    );
}
