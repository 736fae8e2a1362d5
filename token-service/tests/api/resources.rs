//! RFC 8707 resource indicators on both grants: `resource` picks the token's `aud` from
//! the configured protected resources, narrows the scope to what that resource
//! supports, and an unknown resource is `invalid_target`.

use protocol::oauth::ProtectedResource;
use serde_json::json;

use crate::helpers::{ISSUER, JWT_BEARER, TestSystem, assert_oauth_error, assert_ok, claims_of, memory, spawn_all};

const REPORTS: &str = "https://reports.example/api";
const BILLING: &str = "https://billing.example/";

async fn system() -> TestSystem {
    spawn_all(
        memory(),
        |_| {},
        |_| {},
        |token| {
            token.protected_resources = vec![
                ProtectedResource {
                    resource: REPORTS.into(),
                    scopes_supported: vec!["reports:read".into()],
                    resource_name: Some("Reports".into()),
                },
                ProtectedResource {
                    resource: BILLING.into(),
                    scopes_supported: Vec::new(),
                    resource_name: None,
                },
            ];
        },
    )
    .await
}

#[tokio::test]
async fn resource_selects_the_audience_and_narrows_the_scope() {
    let system = system().await;
    let client = system
        .create_client(&["reports:read", "reports:write", "billing:read"])
        .await;
    let default = assert_ok(system.client_credentials(&client, &[]).await).await;
    let claims = claims_of(default["access_token"].as_str().expect("token"));
    assert_eq!(claims["aud"], ISSUER, "no resource: the default audience");

    let reports = assert_ok(system.client_credentials(&client, &[("resource", REPORTS)]).await).await;
    assert_eq!(
        reports["scope"], "reports:read",
        "narrowed to what the resource supports"
    );
    let token = reports["access_token"].as_str().expect("token");
    assert_eq!(claims_of(token)["aud"], REPORTS);
    assert_eq!(system.introspect(&client, token).await["aud"], REPORTS);

    let both = assert_ok(
        system
            .client_credentials(&client, &[("resource", BILLING), ("resource", REPORTS)])
            .await,
    )
    .await;
    assert_eq!(
        claims_of(both["access_token"].as_str().expect("token"))["aud"],
        json!([BILLING, REPORTS])
    );
    assert_eq!(both["scope"], "reports:read");

    let nothing_left = system
        .client_credentials(&client, &[("resource", REPORTS), ("scope", "billing:read")])
        .await;
    assert_oauth_error(nothing_left, 400, "invalid_scope").await;
}

#[tokio::test]
async fn an_unknown_or_malformed_resource_is_invalid_target_on_both_grants() {
    let system = system().await;
    let client = system.create_client(&["reports:read"]).await;
    for bad in [
        "https://unknown.example/",
        "reports",
        "https://reports.example/api#frag",
    ] {
        let response = system.client_credentials(&client, &[("resource", bad)]).await;
        assert_oauth_error(response, 400, "invalid_target").await;
    }
    let registered = system.register_anonymous().await;
    let assertion = registered["identity_assertion"].as_str().expect("assertion");
    let response = system
        .post_form(
            "/oauth2/token",
            &[
                ("grant_type", JWT_BEARER),
                ("assertion", assertion),
                ("resource", "https://unknown.example/"),
            ],
        )
        .await;
    assert_oauth_error(response, 400, "invalid_target").await;
    let response = system
        .post_form(
            "/oauth2/token",
            &[
                ("grant_type", JWT_BEARER),
                ("assertion", assertion),
                ("resource", BILLING),
            ],
        )
        .await;
    let body = assert_ok(response).await;
    assert_eq!(claims_of(body["access_token"].as_str().expect("token"))["aud"], BILLING);
}
