//! Regression tests for what a hostile-input review found on `/oauth2/*`: each case
//! failed before its fix.

use serde_json::Value;

use crate::helpers::{TestSystem, assert_no_store, assert_oauth_error, spawn};

const ENDPOINTS: [&str; 3] = ["/oauth2/token", "/oauth2/revoke", "/oauth2/introspect"];

async fn post_raw(system: &TestSystem, path: &str, body: String) -> reqwest::Response {
    system
        .http
        .post(system.token_url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("reachable")
}

fn empty_params(count: usize) -> String {
    (0..count).map(|i| format!("{i}=")).collect::<Vec<_>>().join("&")
}

#[tokio::test]
async fn a_form_of_thousands_of_parameters_is_refused_by_count_or_size_on_every_endpoint() {
    let system = spawn().await;
    for path in ENDPOINTS {
        // Within the body limit: refused for its parameter count, not parsed quadratically.
        let many = post_raw(&system, path, empty_params(10_000)).await;
        let body = assert_oauth_error(many, 400, "invalid_request").await;
        assert!(
            body["error_description"]
                .as_str()
                .is_some_and(|d| d.contains("more than 32")),
            "{body}"
        );
        // The review's ~256 KiB body of 40,000 parameters: over the size limit.
        let huge = post_raw(&system, path, empty_params(40_000)).await;
        assert_eq!(huge.headers()["content-type"], "application/json");
        let body = assert_oauth_error(huge, 413, "invalid_request").await;
        assert!(
            body["error_description"]
                .as_str()
                .is_some_and(|d| d.contains("too large")),
            "{body}"
        );
    }
}

#[tokio::test]
async fn client_input_is_never_echoed_and_descriptions_keep_to_the_rfc_alphabet() {
    let system = spawn().await;
    let cases: [(&[(&str, &str)], &str); 2] = [
        (&[("grant_type", "x\"\\\u{e9}canary")], "unsupported_grant_type"),
        (
            &[
                ("grant_type", "client_credentials"),
                ("canary\"\u{e9}", "1"),
                ("canary\"\u{e9}", "2"),
            ],
            "invalid_request",
        ),
    ];
    for (form, code) in cases {
        let response = system.post_form("/oauth2/token", form).await;
        let status = response.status().as_u16();
        let body = assert_oauth_error(response, status, code).await;
        assert!(!body.to_string().contains("canary"), "{body}");
    }
    let client = system.create_client(&["r"]).await;
    let bad_scope = system
        .http
        .post(system.token_url("/oauth2/token"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "canary\"\\")])
        .send()
        .await
        .expect("reachable");
    let body = assert_oauth_error(bad_scope, 400, "invalid_scope").await;
    assert!(!body.to_string().contains("canary"), "{body}");
}

async fn client_token(system: &TestSystem, client: &crate::helpers::TestClient) -> String {
    let issued = system
        .http
        .post(system.token_url("/oauth2/token"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("reachable");
    let body: Value = issued.json().await.expect("json");
    body["access_token"].as_str().expect("token").to_owned()
}

async fn active(system: &TestSystem, auditor: &crate::helpers::TestClient, token: &str) -> bool {
    let response = system
        .http
        .post(system.token_url("/oauth2/introspect"))
        .basic_auth(&auditor.id, Some(&auditor.secret))
        .form(&[("token", token)])
        .send()
        .await
        .expect("reachable");
    let body: Value = response.json().await.expect("json");
    body["active"].as_bool().expect("active")
}

#[tokio::test]
async fn revoking_another_clients_token_is_refused_and_the_client_is_told() {
    let system = spawn().await;
    let (owner, other) = (system.create_client(&["r"]).await, system.create_client(&["r"]).await);
    let token = client_token(&system, &owner).await;
    let refused = system
        .http
        .post(system.token_url("/oauth2/revoke"))
        .basic_auth(&other.id, Some(&other.secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .expect("reachable");
    assert_oauth_error(refused, 400, "unauthorized_client").await;
    assert!(active(&system, &owner, &token).await, "the token survives");
    // A public client naming itself is held to the same rule.
    let (agent_token, _) = system.agent_token().await;
    let named = system
        .post_form(
            "/oauth2/revoke",
            &[
                ("token", &agent_token),
                ("client_id", "reg_00000000000000000000000000000000"),
            ],
        )
        .await;
    assert_oauth_error(named, 400, "unauthorized_client").await;
    assert!(active(&system, &owner, &agent_token).await);
}

#[tokio::test]
async fn a_confidential_clients_token_is_revoked_only_by_that_client_authenticated() {
    let system = spawn().await;
    let owner = system.create_client(&["r"]).await;
    let token = client_token(&system, &owner).await;
    let anonymous = system.post_form("/oauth2/revoke", &[("token", &token)]).await;
    assert_oauth_error(anonymous, 401, "invalid_client").await;
    assert!(active(&system, &owner, &token).await, "the token survives");
    let by_owner = system
        .http
        .post(system.token_url("/oauth2/revoke"))
        .basic_auth(&owner.id, Some(&owner.secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .expect("reachable");
    assert_no_store(&by_owner);
    assert_eq!(by_owner.status(), 200);
    assert!(!active(&system, &owner, &token).await);
    // Agents are public clients: the token alone revokes their own token.
    let (agent_token, _) = system.agent_token().await;
    let response = system.post_form("/oauth2/revoke", &[("token", &agent_token)]).await;
    assert_eq!(response.status(), 200);
    assert!(!active(&system, &owner, &agent_token).await);
}
