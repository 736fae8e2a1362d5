//! Regression tests for what a hostile-input review found: each case failed before its
//! fix. Providers are real (keys generated here, JWKS over HTTP on a local port).

use std::time::Duration;

use serde_json::{Value, json};
use shared::testing::{RedisServer, TestProvider};
use shared::time::unix_now;

use crate::ceremony::{complete, latest_link, mail_count, press, start};
use crate::helpers::{ISSUER, TestApp, assert_agent_error, memory, spawn, spawn_with};
use identity_service::providers::ProviderSettings;
use identity_service::settings::Settings;

const ID_JAG: &str = "urn:ietf:params:oauth:token-type:id-jag";
const ID_JAG_TYP: &str = "oauth-id-jag+jwt";

fn trusting(provider: &TestProvider, allow_untyped_id_jag: bool) -> impl FnOnce(&mut Settings) {
    let trusted = ProviderSettings {
        issuer: provider.issuer.clone(),
        jwks_uri: provider.jwks_uri.clone(),
        allow_untyped_id_jag,
    };
    move |s| s.providers = vec![trusted]
}

async fn with_provider() -> (TestApp, TestProvider) {
    let provider = TestProvider::start().await;
    let app = spawn_with(memory(), trusting(&provider, false)).await;
    (app, provider)
}

async fn present(app: &TestApp, assertion: &str) -> reqwest::Response {
    let body = json!({ "type": "identity_assertion", "assertion_type": ID_JAG, "assertion": assertion });
    app.post_json("/agent/identity", &body).await
}

fn id_jag_with(provider: &TestProvider, sub: &str, email: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut claims = provider.id_jag_claims(ISSUER, sub, email);
    edit(&mut claims);
    provider.sign(ID_JAG_TYP, &claims)
}

async fn post_event(app: &TestApp, event: String) -> reqwest::Response {
    app.http
        .post(app.url("/agent/event/notify"))
        .header("content-type", "application/secevent+jwt")
        .body(event)
        .send()
        .await
        .expect("reachable")
}

/// Ada already owns an agent, so a provider's ID-JAG naming her needs her confirmation:
/// returns the step-up's claim token.
async fn step_up(app: &TestApp, provider: &TestProvider, sub: &str) -> String {
    let (owned, code) = crate::ceremony::up_to_code(app, "ada@example.com").await;
    let token = owned["claim_token"].as_str().expect("token");
    assert_eq!(complete(app, token, &code).await.status(), 200);
    let response = present(app, &id_jag_with(provider, sub, "ada@example.com", |_| {})).await;
    let body = assert_agent_error(response, 401, "interaction_required").await;
    body["claim"]["claim_token"].as_str().expect("claim token").to_owned()
}

#[tokio::test]
async fn an_id_jag_is_remembered_until_its_own_expiry_whatever_its_exp_looks_like() {
    let provider = TestProvider::start().await;
    // No leeway: before the fix a fractional `exp` was remembered for the leeway alone,
    // so the very next presentation was accepted.
    let tweak = trusting(&provider, false);
    let app = spawn_with(memory(), move |s| {
        tweak(s);
        s.assertion.leeway = Duration::ZERO;
    })
    .await;
    let fractional = id_jag_with(&provider, "frac", "frac@example.com", |c| {
        c["exp"] = json!(unix_now() as f64 + 3599.5);
    });
    assert_eq!(present(&app, &fractional).await.status(), 200);
    assert_agent_error(present(&app, &fractional).await, 401, "replay_detected").await;

    // `exp + leeway` overflowed: a NumericDate past 9999 is no date at all.
    let endless = id_jag_with(&provider, "end", "end@example.com", |c| c["exp"] = json!(i64::MAX));
    for _ in 0..2 {
        assert_agent_error(present(&app, &endless).await, 400, "invalid_request").await;
    }
}

#[tokio::test]
async fn an_id_jag_longer_lived_than_the_maximum_is_refused() {
    let (app, provider) = with_provider().await;
    let month = id_jag_with(&provider, "long", "long@example.com", |c| {
        c["exp"] = json!(unix_now() + 30 * 24 * 3600);
    });
    assert_agent_error(present(&app, &month).await, 401, "lifetime_too_long").await;
}

#[tokio::test]
async fn an_untyped_id_jag_is_refused_unless_its_provider_is_configured_for_it() {
    let provider = TestProvider::start().await;
    let header = jsonwebtoken::Header {
        typ: None,
        ..Default::default()
    };
    let untyped = provider.sign_with_header(header, &provider.id_jag_claims(ISSUER, "u", "u@example.com"));
    let strict = spawn_with(memory(), trusting(&provider, false)).await;
    assert_agent_error(present(&strict, &untyped).await, 400, "invalid_request").await;
    let lenient = spawn_with(memory(), trusting(&provider, true)).await;
    assert_eq!(present(&lenient, &untyped).await.status(), 200, "the operator opted in");
}

#[tokio::test]
async fn critical_headers_are_refused_on_id_jags_and_security_events() {
    let (app, provider) = with_provider().await;
    for crit in [vec!["urn:example:ext".to_owned()], vec![]] {
        let mut header = jsonwebtoken::Header {
            typ: Some(ID_JAG_TYP.into()),
            crit: Some(crit.clone()),
            ..Default::default()
        };
        header.extras.insert("urn:example:ext", 1);
        let claims = provider.id_jag_claims(ISSUER, "c", "c@example.com");
        let assertion = provider.sign_with_header(header.clone(), &claims);
        assert_agent_error(present(&app, &assertion).await, 400, "invalid_request").await;

        header.typ = Some("secevent+jwt".into());
        let event = json!({"iss": provider.issuer, "aud": ISSUER, "iat": unix_now(),
            "jti": protocol::secrets::random_token(8), "events": {"https://example.com/other": {}}});
        let response = post_event(&app, provider.sign_with_header(header, &event)).await;
        assert_eq!(response.status(), 400, "{crit:?}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["err"], "invalid_request", "{body}");
    }
}

#[tokio::test]
async fn a_revocation_during_a_pending_step_up_wins_over_the_later_confirmation() {
    let (app, provider) = with_provider().await;
    let claim_token = step_up(&app, &provider, "ada-at-provider").await;
    // An assertion the provider issued before revoking, not yet presented.
    let earlier = id_jag_with(&provider, "ada-at-provider", "ada@example.com", |c| {
        c["iat"] = json!(unix_now() - 1);
    });
    let revoked = post_event(&app, provider.revocation_event(ISSUER, "ada-at-provider")).await;
    assert_eq!(revoked.status(), 202);

    let (_, html) = press(&app, &latest_link(&app)).await;
    let done = complete(&app, &claim_token, &crate::ceremony::code_in(&html)).await;
    assert_agent_error(done, 403, "delegation_revoked").await;
    assert_agent_error(present(&app, &earlier).await, 403, "delegation_revoked").await;
    // The step-up's registration died with the delegation.
    let again = start(&app, &claim_token, "ada@example.com").await;
    assert_agent_error(again, 401, "invalid_claim_token").await;
}

#[tokio::test]
async fn a_step_up_confirmation_goes_only_to_the_human_the_provider_named() {
    let (app, provider) = with_provider().await;
    let claim_token = step_up(&app, &provider, "ada-elsewhere").await;
    let mailed = mail_count(&app);
    let hijack = start(&app, &claim_token, "agent@attacker.test").await;
    let body = assert_agent_error(hijack, 403, "email_mismatch").await;
    assert!(
        !body.to_string().contains("ada@example.com"),
        "the human's address is not revealed"
    );
    assert_eq!(mail_count(&app), mailed, "nothing was sent to the agent's mailbox");
    // Ada herself still confirms.
    assert_eq!(start(&app, &claim_token, "ADA@example.com").await.status(), 200);
    let (_, html) = press(&app, &latest_link(&app)).await;
    let done = complete(&app, &claim_token, &crate::ceremony::code_in(&html)).await;
    assert_eq!(done.status(), 200);
    let linked = present(
        &app,
        &id_jag_with(&provider, "ada-elsewhere", "ada@example.com", |_| {}),
    )
    .await;
    assert_eq!(linked.status(), 200);
}

#[tokio::test]
async fn addresses_the_mailer_cannot_send_to_are_refused_before_anything_is_written() {
    let redis = RedisServer::start();
    let app = spawn_with(redis.store_settings(), |_| {}).await;
    let registered = app.register_anonymous().await;
    let claim_token = registered["claim_token"].as_str().expect("claim token");
    let before = redis.key_count();
    for email in ["quo\"te@example.com", "a..b@example.com", "a;b@example.com"] {
        let body = json!({ "type": "identity_assertion", "assertion_type": "verified_email", "assertion": email });
        let refused = assert_agent_error(app.post_json("/agent/identity", &body).await, 400, "invalid_email").await;
        assert!(!refused.to_string().contains(email), "the input is not echoed");
        assert_agent_error(start(&app, claim_token, email).await, 400, "invalid_email").await;
    }
    assert_eq!(redis.key_count(), before, "no registration, attempt or rate-limit hit");
    assert_eq!(mail_count(&app), 0);
}

#[tokio::test]
async fn errors_actix_produces_answer_in_each_surfaces_envelope() {
    let app = spawn().await;
    let large = "x".repeat(70 * 1024);
    let oversized = app
        .http
        .post(app.url("/agent/identity"))
        .header("content-type", "application/json")
        .body(format!("{{\"type\":\"{large}\"}}"))
        .send()
        .await
        .expect("reachable");
    assert_eq!(oversized.headers()["content-type"], "application/json");
    assert_agent_error(oversized, 413, "request_too_large").await;

    let wrong_method = app
        .http
        .get(app.url("/agent/identity"))
        .send()
        .await
        .expect("reachable");
    assert_eq!(wrong_method.headers()["allow"], "POST");
    assert_agent_error(wrong_method, 405, "method_not_allowed").await;

    let event = app
        .http
        .post(app.url("/agent/event/notify"))
        .header("content-type", "application/secevent+jwt")
        .body(large.clone())
        .send()
        .await
        .expect("reachable");
    assert_eq!(event.status(), 413);
    let body: Value = event.json().await.expect("RFC 8935 body");
    assert_eq!(body["err"], "invalid_request", "{body}");
    assert!(body["description"].as_str().is_some_and(|d| d.contains("too large")));
}

#[tokio::test]
async fn client_input_is_never_echoed_in_agent_errors() {
    let app = spawn().await;
    let canary = "canary\"\\\u{e9}<b>";
    for body in [
        json!({ "type": canary }),
        json!({ "type": "identity_assertion", "assertion_type": canary, "assertion": "x" }),
        json!({ "type": ["identity_assertion", canary] }),
    ] {
        let response = app.post_json("/agent/identity", &body).await;
        let error = assert_agent_error(response, 400, "invalid_request").await;
        assert!(
            !error["message"].as_str().expect("message").contains("canary"),
            "{error}"
        );
    }
}
