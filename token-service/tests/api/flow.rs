//! The whole anonymous-agent flow across three separately built services sharing one
//! real Redis, and the registration states the exchange must refuse.

use identity_service::registration::{Registration, RegistrationType};
use identity_service::store::RedisRegistrationStore;
use identity_service::testing::put_registration;
use serde_json::json;

use shared::testing::RedisServer;
use shared::time::unix_now;

use crate::helpers::{ISSUER, JWT_BEARER, TestSystem, assert_oauth_error, assert_ok, spawn_with};

#[tokio::test]
async fn discover_register_exchange_introspect_revoke_over_redis() {
    let redis = RedisServer::start();
    let system = spawn_with(redis.store_settings()).await;
    let metadata: serde_json::Value = reqwest::get(system.identity_url("/.well-known/oauth-authorization-server"))
        .await
        .expect("discovery")
        .json()
        .await
        .expect("json");
    assert_eq!(metadata["issuer"], ISSUER);

    let (token, registered) = system.agent_token().await;
    let client = system.create_client(&["audit"]).await;
    let introspect = || {
        system
            .http
            .post(system.token_url("/oauth2/introspect"))
            .basic_auth(&client.id, Some(&client.secret))
            .form(&[("token", token.as_str())])
            .send()
    };
    let active = assert_ok(introspect().await.expect("reachable")).await;
    assert_eq!(active["active"], true);
    assert_eq!(active["sub"], registered["registration_id"]);

    assert_eq!(
        system.post_form("/oauth2/revoke", &[("token", &token)]).await.status(),
        200
    );
    let revoked = assert_ok(introspect().await.expect("reachable")).await;
    assert_eq!(revoked, json!({ "active": false }));
}

#[tokio::test]
async fn registration_state_decides_the_exchange() {
    let redis = RedisServer::start();
    let store_settings = redis.store_settings();
    let system = spawn_with(store_settings.clone()).await;
    let store = RedisRegistrationStore::connect(&store_settings).expect("connect");
    let now = unix_now();

    let unclaimed_email = put_registration(&store, RegistrationType::EmailVerification, |_| {}).await;
    let response = exchange(&system, &unclaimed_email).await;
    assert_oauth_error(response, 401, "insufficient_user_authentication").await;

    for refused in [
        put_registration(&store, RegistrationType::Anonymous, |r| r.claim_expires_at = now - 1).await,
        put_registration(&store, RegistrationType::Anonymous, |r| r.revoked_at = Some(now)).await,
    ] {
        assert_oauth_error(exchange(&system, &refused).await, 400, "invalid_grant").await;
    }

    let claimed = put_registration(&store, RegistrationType::Anonymous, |r| r.claimed_at = Some(now)).await;
    let body = assert_ok(exchange(&system, &claimed).await).await;
    assert_eq!(body["scope"], "agent:read agent:write", "claimed: post-claim scopes");
}

#[tokio::test]
async fn a_redis_outage_is_a_503_on_the_exchange() {
    let mut redis = RedisServer::start();
    let system = spawn_with(redis.store_settings()).await;
    let registered = system.register_anonymous().await;
    let assertion = registered["identity_assertion"].as_str().expect("assertion");
    redis.kill();
    let response = system
        .post_form("/oauth2/token", &[("grant_type", JWT_BEARER), ("assertion", assertion)])
        .await;
    let body = assert_oauth_error(response, 503, "temporarily_unavailable").await;
    assert!(!body.to_string().to_lowercase().contains("redis"), "{body}");
    // Every replica shares the outage: it is reported, and the replica stays in rotation
    // to answer with the 503 above rather than leave clients to the ingress's error page.
    let ready = system
        .http
        .get(system.token_url("/readyz"))
        .send()
        .await
        .expect("reachable");
    assert_eq!(ready.status(), 200);
    let ready: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(ready["degraded"], serde_json::json!(["store"]), "{ready}");
}

async fn exchange(system: &TestSystem, registration: &Registration) -> reqwest::Response {
    let now = unix_now();
    let assertion = system.sign(
        "oauth-id-jag+jwt",
        &json!({
            "iss": ISSUER, "aud": ISSUER, "sub": registration.id.as_str(),
            "client_id": registration.client_id, "jti": "j", "iat": now, "exp": now + 600,
            "registration_type": registration.registration_type.as_str(),
        }),
    );
    system
        .post_form(
            "/oauth2/token",
            &[("grant_type", JWT_BEARER), ("assertion", &assertion)],
        )
        .await
}
