//! `POST /oauth2/introspect` (RFC 7662).

use serde_json::{Value, json};
use shared::time::unix_now;

use crate::helpers::{access_claims, assert_oauth_error, assert_ok, spawn};

#[tokio::test]
async fn introspection_requires_client_authentication() {
    let system = spawn().await;
    let (token, _) = system.agent_token().await;
    let anonymous = system.post_form("/oauth2/introspect", &[("token", &token)]).await;
    assert_oauth_error(anonymous, 401, "invalid_client").await;
    let wrong = system
        .http
        .post(system.token_url("/oauth2/introspect"))
        .basic_auth("cli_00000000000000000000000000000000", Some("nope"))
        .form(&[("token", &token)])
        .send()
        .await
        .expect("reachable");
    assert_oauth_error(wrong, 401, "invalid_client").await;
    let client = system.create_client(&["audit"]).await;
    let missing_token = system
        .http
        .post(system.token_url("/oauth2/introspect"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[("token_type_hint", "access_token")])
        .send()
        .await
        .expect("reachable");
    assert_oauth_error(missing_token, 400, "invalid_request").await;
}

#[tokio::test]
async fn an_active_token_reports_its_claims() {
    let system = spawn().await;
    let client = system.create_client(&["audit"]).await;
    let (token, registered) = system.agent_token().await;
    let response = system
        .http
        .post(system.token_url("/oauth2/introspect"))
        .form(&[
            ("token", token.as_str()),
            ("client_id", &client.id),
            ("client_secret", &client.secret),
        ])
        .send()
        .await
        .expect("reachable");
    let body = assert_ok(response).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["sub"], registered["registration_id"]);
    assert_eq!(body["client_id"], registered["registration_id"]);
    assert_eq!(body["scope"], "agent:read");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["iss"], crate::helpers::ISSUER);
    for claim in ["exp", "iat"] {
        assert!(body[claim].is_i64(), "{claim}");
    }
}

#[tokio::test]
async fn expired_malformed_and_foreign_tokens_are_inactive_and_nothing_more() {
    let system = spawn().await;
    let client = system.create_client(&["audit"]).await;
    let mut expired = access_claims("reg_00000000000000000000000000000000");
    expired["exp"] = json!(unix_now() - 120);
    expired["iat"] = json!(unix_now() - 1000);
    let foreign = shared::testing::TestKey::generate("other").signer_as(system.signer.kid());
    let mut other_issuer = access_claims("x");
    other_issuer["iss"] = json!("https://evil.test");
    let tokens = [
        "garbage".to_owned(),
        system.sign("at+jwt", &expired),
        foreign.sign("at+jwt", &access_claims("x")).expect("sign"),
        system.sign("at+jwt", &other_issuer),
        system.sign("oauth-id-jag+jwt", &access_claims("x")),
    ];
    for token in tokens {
        let response = system
            .http
            .post(system.token_url("/oauth2/introspect"))
            .basic_auth(&client.id, Some(&client.secret))
            .form(&[("token", token.as_str())])
            .send()
            .await
            .expect("reachable");
        let body: Value = assert_ok(response).await;
        assert_eq!(
            body,
            json!({ "active": false }),
            "RFC 7662 §2.2: inactive says nothing else"
        );
    }
}
