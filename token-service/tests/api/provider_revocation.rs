//! A provider's revocation event reaches every token of the delegation: introspection
//! reports them inactive and the next exchange is refused (DESIGN §9).

use identity_service::providers::ProviderSettings;
use serde_json::{Value, json};
use shared::testing::{RedisServer, TestProvider};

use crate::helpers::{ISSUER, JWT_BEARER, TestSystem, assert_oauth_error, assert_ok, spawn_configured};

/// A system on `store` that trusts `provider` to register agents.
pub(crate) async fn trusting(store: shared::settings::StoreSettings, provider: &TestProvider) -> TestSystem {
    let trusted = ProviderSettings {
        issuer: provider.issuer.clone(),
        jwks_uri: provider.jwks_uri.clone(),
        allow_untyped_id_jag: false,
    };
    spawn_configured(store, move |s| s.providers = vec![trusted]).await
}

/// An agent `provider` registers for its user `user-1` (by ID-JAG): the agent's identity
/// assertion.
pub(crate) async fn provider_agent(system: &TestSystem, provider: &TestProvider) -> String {
    let id_jag = provider.sign(
        "oauth-id-jag+jwt",
        &provider.id_jag_claims(ISSUER, "user-1", "ada@example.com"),
    );
    let registered: Value = system
        .http
        .post(system.identity_url("/agent/identity"))
        .json(&json!({
            "type": "identity_assertion",
            "assertion_type": "urn:ietf:params:oauth:token-type:id-jag",
            "assertion": id_jag,
        }))
        .send()
        .await
        .expect("reachable")
        .json()
        .await
        .expect("json");
    registered["identity_assertion"].as_str().expect("assertion").to_owned()
}

#[tokio::test]
async fn after_a_revocation_event_tokens_are_inactive_and_the_exchange_is_invalid_grant() {
    let redis = RedisServer::start();
    let provider = TestProvider::start().await;
    let system = trusting(redis.store_settings(), &provider).await;
    let assertion = provider_agent(&system, &provider).await;
    let form = [("grant_type", JWT_BEARER), ("assertion", assertion.as_str())];
    let exchange = || system.post_form("/oauth2/token", &form);
    let token = assert_ok(exchange().await).await["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let auditor = system.create_client(&["audit"]).await;
    let introspect = || {
        system
            .http
            .post(system.token_url("/oauth2/introspect"))
            .basic_auth(&auditor.id, Some(&auditor.secret))
            .form(&[("token", token.as_str())])
            .send()
    };
    assert_eq!(assert_ok(introspect().await.expect("reachable")).await["active"], true);

    let event = provider.revocation_event(ISSUER, "user-1");
    let notified = system
        .http
        .post(system.identity_url("/agent/event/notify"))
        .header("content-type", "application/secevent+jwt")
        .body(event)
        .send()
        .await
        .expect("reachable");
    assert_eq!(notified.status(), 202);

    let after = assert_ok(introspect().await.expect("reachable")).await;
    assert_eq!(after, json!({ "active": false }));
    assert_oauth_error(exchange().await, 400, "invalid_grant").await;
}
