use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use serde_json::{Value, json};
use shared::testing::RedisServer;

use crate::helpers::{ISSUER, assert_agent_error, memory, spawn, spawn_with};

#[tokio::test]
async fn anonymous_registration_returns_a_verifiable_assertion_and_a_claim_handle() {
    let app = spawn().await;
    let response = app
        .http
        .post(app.url("/agent/identity"))
        .header("content-type", "application/json; charset=utf-8")
        .body(r#"{"type":"anonymous"}"#)
        .send()
        .await
        .expect("reachable");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.expect("json");
    let id = body["registration_id"].as_str().expect("registration_id");
    assert!(id.starts_with("reg_") && id.len() == 36, "{id}");
    assert_eq!(body["registration_type"], "anonymous");
    assert_eq!(body["pre_claim_scopes"], json!(["agent:read"]));
    assert_eq!(body["post_claim_scopes"], json!(["agent:read", "agent:write"]));
    assert_eq!(body["claim_url"], format!("{ISSUER}/agent/identity/claim"));
    let claim_token = body["claim_token"].as_str().expect("claim_token");
    assert!(claim_token.starts_with(&format!("{id}.")) && claim_token.len() > id.len() + 40);
    for field in ["assertion_expires", "claim_token_expires"] {
        let at = body[field].as_str().expect(field);
        humantime::parse_rfc3339(at).unwrap_or_else(|e| panic!("{field} `{at}` is not RFC 3339: {e}"));
    }

    let assertion = body["identity_assertion"].as_str().expect("assertion");
    let header = decode_header(assertion).expect("header");
    assert_eq!(header.typ.as_deref(), Some("oauth-id-jag+jwt"));
    let jwks: JwkSet = reqwest::get(format!("http://{}/.well-known/jwks.json", app._jwks.http))
        .await
        .expect("jwks reachable")
        .json()
        .await
        .expect("jwks json");
    let jwk = jwks
        .find(header.kid.as_deref().expect("kid"))
        .expect("kid is published");
    let mut validation = Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[ISSUER]);
    let claims = decode::<Value>(assertion, &DecodingKey::from_jwk(jwk).expect("key"), &validation)
        .expect("assertion verifies against the published JWKS")
        .claims;
    assert_eq!(claims["sub"], id);
    assert_eq!(claims["client_id"], id);
    assert_eq!(claims["registration_type"], "anonymous");
    assert_eq!(
        claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"),
        3600
    );
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
}

#[tokio::test]
async fn every_registration_is_distinct() {
    let app = spawn().await;
    let a = app.register_anonymous().await;
    let b = app.register_anonymous().await;
    assert_ne!(a["registration_id"], b["registration_id"]);
    assert_ne!(a["claim_token"], b["claim_token"]);
}

#[tokio::test]
async fn malformed_requests_get_invalid_request() {
    let app = spawn().await;
    let cases: [(Option<&str>, &str, &str); 6] = [
        (Some("text/plain"), r#"{"type":"anonymous"}"#, "wrong content type"),
        (None, r#"{"type":"anonymous"}"#, "no content type"),
        (Some("application/json"), "{not json", "bad JSON"),
        (Some("application/json"), r#"{"kind":"anonymous"}"#, "missing type"),
        (Some("application/json"), r#"{"type":"robot"}"#, "unknown type"),
        (Some("application/json"), r#"{"type":42}"#, "type not a string"),
    ];
    for (content_type, body, case) in cases {
        let mut request = app.http.post(app.url("/agent/identity")).body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        let response = request.send().await.expect("reachable");
        assert_eq!(response.status(), 400, "{case}");
        assert_agent_error(response, 400, "invalid_request").await;
    }
}

#[tokio::test]
async fn anonymous_registration_can_be_switched_off() {
    let app = spawn_with(memory(), |s| s.registration.anonymous_enabled = false).await;
    let response = app
        .http
        .post(app.url("/agent/identity"))
        .json(&json!({ "type": "anonymous" }))
        .send()
        .await
        .expect("reachable");
    assert_agent_error(response, 403, "anonymous_not_enabled").await;
}

#[tokio::test]
async fn a_redis_outage_is_a_503_with_retry_after_and_no_detail() {
    let mut redis = RedisServer::start();
    let app = spawn_with(redis.store_settings(), |_| {}).await;
    app.register_anonymous().await;
    redis.kill();
    let response = app
        .http
        .post(app.url("/agent/identity"))
        .json(&json!({ "type": "anonymous" }))
        .send()
        .await
        .expect("reachable");
    assert_eq!(response.headers()["retry-after"], "5");
    let body = assert_agent_error(response, 503, "temporarily_unavailable").await;
    assert!(
        !body.to_string().to_lowercase().contains("redis"),
        "5xx bodies reveal nothing: {body}"
    );
}

#[tokio::test]
async fn without_a_signing_key_registration_is_a_503() {
    // A jwks peer that never answers: the closed port of a dropped listener.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let settings = crate::helpers::settings(closed, memory());
    let app = identity_service::startup::Application::build(settings)
        .await
        .expect("builds");
    let running = shared::testing::Running::start(app);
    let response = reqwest::Client::new()
        .post(running.url("/agent/identity"))
        .json(&json!({ "type": "anonymous" }))
        .send()
        .await
        .expect("reachable");
    assert_agent_error(response, 503, "temporarily_unavailable").await;
}
