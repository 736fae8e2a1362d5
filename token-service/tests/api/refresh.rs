//! Refresh tokens of the authorization code flow: rotation on every use, the family
//! dying on reuse, binding to the client, to a DPoP key, and to the human's consent, and
//! RFC 7009 revocation.

use serde_json::Value;

use crate::helpers::{TestSystem, assert_oauth_error, assert_ok, claims_of};
use crate::human::{Authorization, Browser, authorize_fully, public_client, redeem, spawn_mcp};
use crate::proofs::ClientKey;

async fn refresh(system: &TestSystem, client_id: &str, token: &str, proof: Option<String>) -> reqwest::Response {
    let mut request = system.http.post(system.token_url("/oauth2/token")).form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", token),
        ("client_id", client_id),
    ]);
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    request.send().await.expect("reachable")
}

/// A public client, and the first token response of its authorization.
async fn authorized(system: &TestSystem) -> (String, Value) {
    let client_id = public_client(system, "Inspector").await;
    let mut browser = Browser::new(system);
    let authorization = Authorization::new(&client_id);
    let code = authorize_fully(system, &mut browser, &authorization).await;
    let body = assert_ok(redeem(system, &authorization, &code, &authorization.verifier).await).await;
    (client_id, body)
}

fn refresh_token(body: &Value) -> String {
    body["refresh_token"].as_str().expect("a refresh token").to_owned()
}

#[tokio::test]
async fn every_use_rotates_and_reusing_a_rotated_token_kills_the_family() {
    let system = spawn_mcp().await;
    let (client_id, first) = authorized(&system).await;
    let original = refresh_token(&first);

    let second = assert_ok(refresh(&system, &client_id, &original, None).await).await;
    let rotated = refresh_token(&second);
    assert_ne!(rotated, original, "rotated");
    let claims = claims_of(second["access_token"].as_str().expect("token"));
    assert_eq!(
        claims["sub"],
        claims_of(first["access_token"].as_str().expect("token"))["sub"]
    );
    assert_eq!(claims["aud"], crate::human::RESOURCE);
    assert_eq!(second["scope"], "agent:read");

    let third = assert_ok(refresh(&system, &client_id, &rotated, None).await).await;
    let current = refresh_token(&third);

    // The rotated-away token comes back: a thief or a confused client; the family dies.
    let body = assert_oauth_error(
        refresh(&system, &client_id, &original, None).await,
        400,
        "invalid_grant",
    )
    .await;
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("already used")),
        "{body}"
    );
    assert_oauth_error(refresh(&system, &client_id, &current, None).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn a_refresh_token_is_bound_to_its_client_and_may_only_narrow_scope() {
    let system = spawn_mcp().await;
    let (client_id, first) = authorized(&system).await;
    let other = public_client(&system, "Other").await;
    let token = refresh_token(&first);
    assert_oauth_error(refresh(&system, &other, &token, None).await, 400, "invalid_grant").await;
    let anonymous = system
        .post_form(
            "/oauth2/token",
            &[("grant_type", "refresh_token"), ("refresh_token", &token)],
        )
        .await;
    assert_oauth_error(anonymous, 401, "invalid_client").await;
    let wider = system
        .post_form(
            "/oauth2/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &token),
                ("client_id", &client_id),
                ("scope", "agent:write"),
            ],
        )
        .await;
    assert_oauth_error(wider, 400, "invalid_scope").await;
    // None of the refusals burned the client's token.
    assert_ok(refresh(&system, &client_id, &token, None).await).await;
}

#[tokio::test]
async fn a_dpop_bound_authorization_refreshes_only_with_a_proof_of_that_key() {
    let system = spawn_mcp().await;
    let client_id = public_client(&system, "Inspector").await;
    let mut browser = Browser::new(&system);
    let authorization = Authorization::new(&client_id);
    let code = authorize_fully(&system, &mut browser, &authorization).await;
    let key = ClientKey::generate("dpop");
    let response = system
        .http
        .post(system.token_url("/oauth2/token"))
        .header("DPoP", key.dpop_proof())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", client_id.as_str()),
            ("redirect_uri", crate::human::REDIRECT),
            ("code_verifier", authorization.verifier.as_str()),
        ])
        .send()
        .await
        .expect("reachable");
    let first = assert_ok(response).await;
    assert_eq!(first["token_type"], "DPoP");
    let jkt = claims_of(first["access_token"].as_str().expect("token"))["cnf"]["jkt"].clone();
    let token = refresh_token(&first);

    let other = ClientKey::generate("other");
    for proof in [None, Some(other.dpop_proof())] {
        let body = assert_oauth_error(refresh(&system, &client_id, &token, proof).await, 400, "invalid_grant").await;
        assert!(
            body["error_description"].as_str().is_some_and(|d| d.contains("DPoP")),
            "{body}"
        );
    }
    let second = assert_ok(refresh(&system, &client_id, &token, Some(key.dpop_proof())).await).await;
    assert_eq!(second["token_type"], "DPoP");
    assert_eq!(
        claims_of(second["access_token"].as_str().expect("token"))["cnf"]["jkt"],
        jkt
    );
}

#[tokio::test]
async fn revoking_the_refresh_token_or_the_consent_ends_refreshing() {
    let system = spawn_mcp().await;
    let (client_id, first) = authorized(&system).await;
    let token = refresh_token(&first);
    let revoked = system
        .post_form("/oauth2/revoke", &[("token", &token), ("client_id", &client_id)])
        .await;
    assert_eq!(revoked.status(), 200);
    assert_oauth_error(refresh(&system, &client_id, &token, None).await, 400, "invalid_grant").await;

    // A replayed code revokes the consent: the refresh tokens it gave die with it.
    let mut browser = Browser::new(&system);
    let authorization = Authorization::new(&client_id);
    let code = authorize_fully(&system, &mut browser, &authorization).await;
    let body = assert_ok(redeem(&system, &authorization, &code, &authorization.verifier).await).await;
    let token = refresh_token(&body);
    assert_oauth_error(
        redeem(&system, &authorization, &code, &authorization.verifier).await,
        400,
        "invalid_grant",
    )
    .await;
    let refused = assert_oauth_error(refresh(&system, &client_id, &token, None).await, 400, "invalid_grant").await;
    assert!(
        refused["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("consent")),
        "{refused}"
    );
}
