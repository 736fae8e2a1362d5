//! ID-JAG registration from a trusted provider (keys generated here, JWKS served on a
//! local port) and the provider's revocation events.

use proto::identity::v1::RefusalReason;
use proto::identity::v1::validate_assertion_response::Outcome;
use serde_json::{Value, json};
use shared::testing::TestProvider;

use crate::ceremony::{complete, latest_link, press, up_to_code};
use crate::helpers::{ISSUER, TestApp, assert_agent_error, memory, spawn_with};
use identity_service::providers::ProviderSettings;

const ID_JAG: &str = "urn:ietf:params:oauth:token-type:id-jag";

async fn with_provider() -> (TestApp, TestProvider) {
    let provider = TestProvider::start().await;
    let trusted = ProviderSettings {
        issuer: provider.issuer.clone(),
        jwks_uri: provider.jwks_uri.clone(),
        allow_untyped_id_jag: false,
    };
    let app = spawn_with(memory(), move |s| s.providers = vec![trusted]).await;
    (app, provider)
}

async fn present(app: &TestApp, assertion: &str) -> reqwest::Response {
    let body = json!({ "type": "identity_assertion", "assertion_type": ID_JAG, "assertion": assertion });
    app.post_json("/agent/identity", &body).await
}

fn id_jag(provider: &TestProvider, sub: &str, email: &str) -> String {
    provider.sign("oauth-id-jag+jwt", &provider.id_jag_claims(ISSUER, sub, email))
}

async fn registered(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

#[tokio::test]
async fn a_provider_assertion_registers_a_claimed_agent_and_a_known_delegation_returns_it() {
    let (app, provider) = with_provider().await;
    let first = registered(present(&app, &id_jag(&provider, "user-1", "ada@example.com")).await).await;
    assert_eq!(first["registration_type"], "identity-assertion");
    assert_eq!(first["scopes"], json!(["agent:read", "agent:write"]));
    let Outcome::Grantable(grant) = app.validate(first["identity_assertion"].as_str().expect("a")).await else {
        panic!("claimed at once");
    };
    assert_eq!(grant.grantable_scopes, vec!["agent:read", "agent:write"]);
    let again = registered(present(&app, &id_jag(&provider, "user-1", "ada@example.com")).await).await;
    assert_eq!(
        again["registration_id"], first["registration_id"],
        "same delegation, same registration"
    );
}

#[tokio::test]
async fn provider_assertions_are_refused_with_precise_codes() {
    let (app, provider) = with_provider().await;
    let stranger = TestProvider::start().await;
    let spoiled = |field: &str, value: Value| {
        let mut claims = provider.id_jag_claims(ISSUER, "user-2", "bob@example.com");
        claims[field] = value;
        provider.sign("oauth-id-jag+jwt", &claims)
    };
    let now = shared::time::unix_now();
    let replayed = id_jag(&provider, "user-3", "eve@example.com");
    registered(present(&app, &replayed).await).await;
    let cases = [
        (replayed, 401, "replay_detected"),
        (spoiled("aud", json!("https://elsewhere.test")), 401, "invalid_audience"),
        (spoiled("exp", json!(now - 600)), 401, "expired"),
        (spoiled("email_verified", json!(false)), 401, "missing_verified_email"),
        (spoiled("email", Value::Null), 401, "missing_verified_email"),
        (spoiled("jti", Value::Null), 400, "invalid_request"),
        (
            stranger.sign(
                "oauth-id-jag+jwt",
                &stranger.id_jag_claims(ISSUER, "x", "x@example.com"),
            ),
            401,
            "invalid_issuer",
        ),
        (
            provider.sign("JWT", &provider.id_jag_claims(ISSUER, "x", "x@example.com")),
            400,
            "invalid_request",
        ),
        ("not-a-jwt".to_owned(), 400, "invalid_request"),
    ];
    for (assertion, status, code) in cases {
        assert_agent_error(present(&app, &assertion).await, status, code).await;
    }
    // Same issuer and kid, another key: only the signature tells.
    let mut forged = id_jag(&provider, "user-4", "mallory@example.com");
    forged.truncate(forged.len() - 4);
    forged.push_str("AAAA");
    assert_agent_error(present(&app, &forged).await, 401, "invalid_signature").await;
}

#[tokio::test]
async fn a_known_email_needs_the_humans_confirmation_before_the_delegation_links() {
    let (app, provider) = with_provider().await;
    // Ada owns an agent already (claimed through the ceremony).
    let (anonymous, code) = up_to_code(&app, "ada@example.com").await;
    let token = anonymous["claim_token"].as_str().expect("token");
    assert_eq!(complete(&app, token, &code).await.status(), 200);

    let response = present(&app, &id_jag(&provider, "ada-at-provider", "ada@example.com")).await;
    let body = assert_agent_error(response, 401, "interaction_required").await;
    let claim = &body["claim"];
    let claim_token = claim["claim_token"].as_str().expect("a claim handle");
    assert_eq!(claim["claim_url"], format!("{ISSUER}/agent/identity/claim"));

    let (_, html) = press(&app, &latest_link(&app)).await;
    let done: Value = complete(&app, claim_token, &crate::ceremony::code_in(&html))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(done["status"], "claimed");
    assert!(done["identity_assertion"].is_string());
    let linked = registered(present(&app, &id_jag(&provider, "ada-at-provider", "ada@example.com")).await).await;
    assert_eq!(
        linked["registration_id"], claim["registration_id"],
        "confirmed delegation now links"
    );
}

#[tokio::test]
async fn a_revocation_event_revokes_the_delegations_registration() {
    let (app, provider) = with_provider().await;
    let agent = registered(present(&app, &id_jag(&provider, "user-9", "zoe@example.com")).await).await;
    let event = provider.revocation_event(ISSUER, "user-9");
    let response = app
        .http
        .post(app.url("/agent/event/notify"))
        .header("content-type", "application/secevent+jwt")
        .body(event.clone())
        .send()
        .await
        .expect("reachable");
    assert_eq!(response.status(), 202);
    assert!(response.bytes().await.expect("body").is_empty(), "202 carries no body");
    let outcome = app.validate(agent["identity_assertion"].as_str().expect("a")).await;
    let Outcome::Refused(refused) = outcome else {
        panic!("revoked")
    };
    assert_eq!(refused.reason, RefusalReason::RegistrationRevoked as i32);

    let duplicate = app
        .http
        .post(app.url("/agent/event/notify"))
        .header("content-type", "application/secevent+jwt")
        .body(event)
        .send()
        .await
        .expect("reachable");
    assert_eq!(duplicate.status(), 202, "a redelivered event is acknowledged again");
    // The provider delegates anew after the revocation: the delegation is gone and Zoe is
    // a known human, so her confirmation is needed again.
    let mut renewed = provider.id_jag_claims(ISSUER, "user-9", "zoe@example.com");
    renewed["iat"] = json!(shared::time::unix_now() + 1);
    let again = present(&app, &provider.sign("oauth-id-jag+jwt", &renewed)).await;
    let body = assert_agent_error(again, 401, "interaction_required").await;
    assert_ne!(body["claim"]["registration_id"], agent["registration_id"]);
}

#[tokio::test]
async fn event_errors_use_the_rfc_8935_shape() {
    let (app, provider) = with_provider().await;
    let stranger = TestProvider::start().await;
    let post = |content_type: &'static str, body: String| {
        app.http
            .post(app.url("/agent/event/notify"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let mut unsigned = provider.revocation_event(ISSUER, "u");
    unsigned.truncate(unsigned.len() - 4);
    unsigned.push_str("AAAA");
    let cases = [
        (
            "application/json",
            provider.revocation_event(ISSUER, "u"),
            "invalid_request",
        ),
        ("application/secevent+jwt", "garbage".to_owned(), "invalid_request"),
        (
            "application/secevent+jwt",
            provider.revocation_event("https://elsewhere.test", "u"),
            "invalid_audience",
        ),
        (
            "application/secevent+jwt",
            stranger.revocation_event(ISSUER, "u"),
            "invalid_issuer",
        ),
        ("application/secevent+jwt", unsigned, "authentication_failed"),
        (
            "application/secevent+jwt",
            signed_with_unpublished_key(&provider, &stranger),
            "invalid_key",
        ),
    ];
    for (content_type, body, err) in cases {
        let response = post(content_type, body).await.expect("reachable");
        assert_eq!(response.status(), 400, "{err}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["err"], err, "{body}");
        assert!(body["description"].as_str().is_some_and(|d| !d.is_empty()));
    }
    let unknown_event = provider.sign(
        "secevent+jwt",
        &json!({"iss": provider.issuer, "aud": ISSUER, "iat": shared::time::unix_now(),
                "jti": "e1", "events": {"https://example.com/other": {}}}),
    );
    assert_eq!(
        post("application/secevent+jwt", unknown_event)
            .await
            .expect("reachable")
            .status(),
        202
    );
}

/// An event claiming `provider`'s issuer, signed with a key `provider` never published.
fn signed_with_unpublished_key(provider: &TestProvider, stranger: &TestProvider) -> String {
    let claims = json!({"iss": provider.issuer, "aud": ISSUER, "iat": shared::time::unix_now(), "jti": "k1",
        "events": {"https://example.com/other": {}}});
    stranger.sign("secevent+jwt", &claims)
}

#[tokio::test]
async fn the_id_jag_path_can_be_switched_off() {
    let provider = TestProvider::start().await;
    let trusted = ProviderSettings {
        issuer: provider.issuer.clone(),
        jwks_uri: provider.jwks_uri.clone(),
        allow_untyped_id_jag: false,
    };
    let app = spawn_with(memory(), move |s| {
        s.providers = vec![trusted];
        s.registration.id_jag_enabled = false;
    })
    .await;
    let response = present(&app, &id_jag(&provider, "u", "u@example.com")).await;
    assert_agent_error(response, 403, "identity_assertion_not_enabled").await;
}

#[tokio::test]
async fn discovery_advertises_the_provider_surface() {
    let (app, _provider) = with_provider().await;
    let body: Value = reqwest::get(app.url("/.well-known/oauth-authorization-server"))
        .await
        .expect("reachable")
        .json()
        .await
        .expect("json");
    let agent = &body["agent_auth"];
    assert_eq!(agent["revocation_uri"], format!("{ISSUER}/agent/auth/revoke"));
    assert_eq!(agent["events_endpoint"], format!("{ISSUER}/agent/event/notify"));
    assert_eq!(
        agent["events_supported"],
        json!([
            "https://schemas.workos.com/events/agent/auth/identity/assertion/revoked",
            // A provider ending its user's session or account ends what its ID-JAGs granted.
            "https://schemas.openid.net/secevent/caep/event-type/session-revoked",
            "https://schemas.openid.net/secevent/risc/event-type/account-disabled",
            "https://schemas.openid.net/secevent/risc/event-type/account-purged",
        ])
    );
    assert_eq!(
        agent["identity_assertion"]["assertion_types_supported"],
        json!([ID_JAG, "verified_email"])
    );
}

#[tokio::test]
async fn the_legacy_logout_token_revokes_too() {
    let (app, provider) = with_provider().await;
    let agent = registered(present(&app, &id_jag(&provider, "user-7", "liz@example.com")).await).await;
    let logout = provider.sign(
        "logout+jwt",
        &json!({"iss": provider.issuer, "aud": ISSUER, "iat": shared::time::unix_now(), "jti": "l1",
                "sub": "user-7", "events": {"http://schemas.openid.net/event/backchannel-logout": {}}}),
    );
    let response = app
        .http
        .post(app.url("/agent/auth/revoke"))
        .header("content-type", "application/logout+jwt")
        .body(logout)
        .send()
        .await
        .expect("reachable");
    assert_eq!(response.status(), 202);
    let Outcome::Refused(_) = app.validate(agent["identity_assertion"].as_str().expect("a")).await else {
        panic!("revoked");
    };
}
