//! `POST /oauth2/revoke` (RFC 7009).

use crate::helpers::{assert_no_store, assert_oauth_error, spawn};

async fn introspect_active(
    system: &crate::helpers::TestSystem,
    client: &crate::helpers::TestClient,
    token: &str,
) -> bool {
    let response = system
        .http
        .post(system.token_url("/oauth2/introspect"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[("token", token)])
        .send()
        .await
        .expect("reachable");
    let body: serde_json::Value = response.json().await.expect("json");
    body["active"].as_bool().expect("active flag")
}

#[tokio::test]
async fn a_revoked_token_is_inactive_at_once() {
    let system = spawn().await;
    let auditor = system.create_client(&["audit"]).await;
    let (token, _) = system.agent_token().await;
    assert!(introspect_active(&system, &auditor, &token).await);
    let response = system
        .post_form(
            "/oauth2/revoke",
            &[("token", &token), ("token_type_hint", "access_token")],
        )
        .await;
    assert_no_store(&response);
    assert_eq!(response.status(), 200);
    assert!(!introspect_active(&system, &auditor, &token).await);
}

#[tokio::test]
async fn unknown_or_malformed_tokens_still_get_200() {
    let system = spawn().await;
    for token in ["not-a-token", "a.b.c", "eyJhbGciOiJub25lIn0.e30."] {
        let response = system.post_form("/oauth2/revoke", &[("token", token)]).await;
        assert_no_store(&response);
        assert_eq!(response.status(), 200, "RFC 7009 §2.2");
    }
}

#[tokio::test]
async fn revocation_errors() {
    let system = spawn().await;
    let (token, _) = system.agent_token().await;
    let missing = system
        .post_form("/oauth2/revoke", &[("token_type_hint", "access_token")])
        .await;
    assert_oauth_error(missing, 400, "invalid_request").await;
    let json = system
        .http
        .post(system.token_url("/oauth2/revoke"))
        .json(&serde_json::json!({ "token": token }))
        .send()
        .await
        .expect("reachable");
    assert_oauth_error(json, 400, "invalid_request").await;
    let bad_client = system
        .http
        .post(system.token_url("/oauth2/revoke"))
        .basic_auth("cli_00000000000000000000000000000000", Some("nope"))
        .form(&[("token", &token)])
        .send()
        .await
        .expect("reachable");
    assert_oauth_error(bad_client, 401, "invalid_client").await;
}
