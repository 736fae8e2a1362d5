//! Completing a claim: the error order, the attempt limit, races between replicas, the
//! claim window and the rate limits.

use identity_service::registration::SecretHandle;
use identity_service::registration::store::RegistrationStore;
use identity_service::registration::{CLAIM_TOKEN_CONTEXT, Registration, RegistrationType};
use identity_service::store::RedisRegistrationStore;
use protocol::scope::ScopeSet;
use protocol::secrets::{Secret, SecretHasher};
use shared::testing::RedisServer;
use shared::time::unix_now;

use crate::ceremony::{complete, latest_link, open, press, start, up_to_code};
use crate::helpers::{assert_agent_error, memory, spawn, spawn_with};

const PEPPER: &str = "test-pepper";

fn wrong(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().expect("digits") + 1) % 1_000_000)
}

#[tokio::test]
async fn complete_checks_in_the_protocols_order() {
    let app = spawn().await;
    let registered = app.register_anonymous().await;
    let token = registered["claim_token"].as_str().expect("claim_token");
    assert_agent_error(complete(&app, "garbage", "123456").await, 401, "invalid_claim_token").await;
    assert_agent_error(complete(&app, token, "12345").await, 400, "invalid_request").await;
    assert_agent_error(complete(&app, token, "123456").await, 400, "otp_not_generated").await;
    assert_eq!(start(&app, token, "a@example.com").await.status(), 200);
    assert_agent_error(complete(&app, token, "123456").await, 400, "otp_not_generated").await;

    let (_, html) = press(&app, &latest_link(&app)).await;
    let code = crate::ceremony::code_in(&html);
    assert_agent_error(complete(&app, token, &wrong(&code)).await, 401, "otp_invalid").await;
    assert_eq!(complete(&app, token, &code).await.status(), 200);
    assert_agent_error(complete(&app, token, &code).await, 409, "previously_claimed").await;
}

#[tokio::test]
async fn after_five_wrong_codes_even_the_right_one_is_refused_until_a_new_mint() {
    let app = spawn().await;
    let (registered, code) = up_to_code(&app, "a@example.com").await;
    let token = registered["claim_token"].as_str().expect("claim_token");
    for _ in 0..5 {
        assert_agent_error(complete(&app, token, &wrong(&code)).await, 401, "otp_invalid").await;
    }
    assert_agent_error(complete(&app, token, &code).await, 410, "otp_expired").await;
    let (_, html) = press(&app, &latest_link(&app)).await;
    let fresh = crate::ceremony::code_in(&html);
    assert_eq!(
        complete(&app, token, &fresh).await.status(),
        200,
        "a new code starts a new count"
    );
}

#[tokio::test]
async fn two_replicas_racing_to_complete_produce_exactly_one_success() {
    let redis = RedisServer::start();
    let store = redis.store_settings();
    let pepper = |s: &mut identity_service::settings::Settings| s.hash_pepper.value = Some(PEPPER.into());
    let a = spawn_with(store.clone(), pepper).await;
    let b = spawn_with(store, pepper).await;
    for _ in 0..5 {
        let (registered, code) = up_to_code(&a, "a@example.com").await;
        let token = registered["claim_token"].as_str().expect("claim_token");
        let (ra, rb) = tokio::join!(complete(&a, token, &code), complete(&b, token, &code));
        let mut statuses = [ra.status().as_u16(), rb.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "exactly one replica wins");
    }
}

#[tokio::test]
async fn a_closed_claim_window_or_link_is_gone() {
    let redis = RedisServer::start();
    let store_settings = redis.store_settings();
    let app = spawn_with(store_settings.clone(), |s| s.hash_pepper.value = Some(PEPPER.into())).await;
    let store = RedisRegistrationStore::connect(&store_settings).expect("connect");
    let hasher = SecretHasher::new(&Secret::new(PEPPER.as_bytes().to_vec()));
    let scopes = (
        ScopeSet::parse("agent:read").expect("s"),
        ScopeSet::parse("agent:read").expect("s"),
    );
    let mut expired = Registration::new(
        RegistrationType::Anonymous,
        unix_now() - 100,
        std::time::Duration::from_secs(10),
        scopes,
        String::new(),
    );
    let handle = SecretHandle::generate(&expired.id);
    expired.claim_token_hash = Some(handle.hash(&hasher, CLAIM_TOKEN_CONTEXT));
    store.create(&expired, None).await.expect("stored");
    let token = handle.to_string();
    assert_agent_error(start(&app, &token, "a@example.com").await, 410, "claim_expired").await;
    assert_agent_error(complete(&app, &token, "123456").await, 410, "claim_expired").await;

    // A link whose attempt ran out: the page says so.
    let registered = app.register_anonymous().await;
    let claim_token = registered["claim_token"].as_str().expect("claim_token");
    assert_eq!(start(&app, claim_token, "a@example.com").await.status(), 200);
    let link = latest_link(&app);
    let id = identity_service::registration::RegistrationId::parse(registered["registration_id"].as_str().expect("id"))
        .expect("id");
    let mut current = store.get(&id).await.expect("read").expect("present");
    let version = current.version;
    if let Some(attempt) = current.claim_attempt.as_mut() {
        attempt.link_expires_at = unix_now() - 1;
    }
    current.version += 1;
    assert!(store.update(&current, version, None).await.expect("update"));
    let (status, page) = open(&app, &link).await;
    assert_eq!(status, 410, "{page}");
    assert_eq!(press(&app, &link).await.0, 410);
}

#[tokio::test]
async fn claim_starts_and_code_mints_are_rate_limited() {
    let app = spawn_with(memory(), |s| {
        s.rate_limits.claim_starts_per_registration.max = 2;
        s.rate_limits.challenges_per_attempt.max = 2;
    })
    .await;
    let registered = app.register_anonymous().await;
    let token = registered["claim_token"].as_str().expect("claim_token");
    assert_eq!(start(&app, token, "a@example.com").await.status(), 200);
    assert_eq!(start(&app, token, "a@example.com").await.status(), 200);
    let limited = start(&app, token, "a@example.com").await;
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("secs");
    assert!(retry_after >= 1);
    assert_agent_error(limited, 429, "rate_limited").await;

    let link = latest_link(&app);
    assert_eq!(press(&app, &link).await.0, 200);
    assert_eq!(press(&app, &link).await.0, 200);
    let (status, page) = press(&app, &link).await;
    assert_eq!(status, 429, "{page}");
}
