//! The authorization code flow end to end, three services each a real application: a
//! public client registers, a human signs in by email and code and consents at
//! identity-service, the client redeems the code at token-service; and the refusals at
//! the token endpoint (a wrong verifier, another client, a replay). What the
//! authorization endpoint itself refuses is in `authorize_hostile`.

use serde_json::Value;

use crate::helpers::{ISSUER, assert_oauth_error, claims_of};
use crate::human::{
    Authorization, Browser, EMAIL, REDIRECT, RESOURCE, active, authorize_fully, decide, public_client, redeem,
    redirect_params, sign_in, spawn_mcp, spawn_mcp_on,
};

#[tokio::test]
async fn a_human_signs_in_consents_and_the_client_gets_a_token_for_the_resource() {
    let system = spawn_mcp().await;
    let client_id = public_client(&system, "Inspector").await;
    let mut browser = Browser::new(&system);
    let authorization = Authorization::new(&client_id);

    let consent = sign_in(&system, &mut browser, &authorization, EMAIL).await;
    assert_eq!(consent.status(), 200);
    let cookie = consent.headers()["set-cookie"].to_str().expect("cookie").to_owned();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    let csp = consent.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert_eq!(consent.headers()["referrer-policy"], "no-referrer");
    assert_eq!(consent.headers()["x-frame-options"], "DENY");
    let page = consent.text().await.expect("page");
    assert!(page.contains("Inspector"), "the client's name");
    assert!(
        page.contains("<strong id=\"host\">127.0.0.1</strong>"),
        "the redirect URI's host"
    );
    assert!(
        page.contains("agent:read") && page.contains(RESOURCE),
        "scopes and resources"
    );

    let back = decide(&mut browser, &authorization, &page, "allow").await;
    let params = redirect_params(&back);
    assert_eq!(params["state"], authorization.state);
    assert_eq!(params["iss"], ISSUER, "RFC 9207");

    let response = redeem(&system, &authorization, &params["code"], &authorization.verifier).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "agent:read");
    let token = claims_of(body["access_token"].as_str().expect("token"));
    assert!(token["sub"].as_str().is_some_and(|s| s.starts_with("usr_")), "{token}");
    assert_eq!(token["aud"], RESOURCE, "RFC 8707");
    assert_eq!(token["client_id"], client_id.as_str());
    assert!(token["grant_id"].as_str().is_some_and(|g| g.starts_with("gnt_")));

    // The same human again: consent is remembered, straight back with a code.
    let again = Authorization::new(&client_id);
    let back = browser.authorize(&again).await;
    let params = redirect_params(&back);
    let response = redeem(&system, &again, &params["code"], &again.verifier).await;
    assert_eq!(response.status(), 200);
    let second: Value = response.json().await.expect("json");
    assert_eq!(
        claims_of(second["access_token"].as_str().expect("token"))["sub"],
        token["sub"]
    );
}

#[tokio::test]
async fn the_flow_and_its_replay_check_hold_on_redis() {
    let redis = shared::testing::RedisServer::start();
    let system = spawn_mcp_on(redis.store_settings()).await;
    let client_id = public_client(&system, "Inspector").await;
    let mut browser = Browser::new(&system);
    let authorization = Authorization::new(&client_id);
    let code = authorize_fully(&system, &mut browser, &authorization).await;
    let first = redeem(&system, &authorization, &code, &authorization.verifier).await;
    assert_eq!(first.status(), 200);
    let replay = redeem(&system, &authorization, &code, &authorization.verifier).await;
    assert_oauth_error(replay, 400, "invalid_grant").await;
    assert!(redis.key_count() > 0, "sign-ins, codes and grants live in Redis");
}

#[tokio::test]
async fn a_wrong_or_missing_verifier_another_client_and_a_changed_redirect_uri_are_invalid_grant() {
    let system = spawn_mcp().await;
    let client_id = public_client(&system, "Inspector").await;
    let other = public_client(&system, "Other").await;
    let mut browser = Browser::new(&system);

    let authorization = Authorization::new(&client_id);
    let code = authorize_fully(&system, &mut browser, &authorization).await;
    let wrong = protocol::secrets::random_token(48);
    let body = assert_oauth_error(
        redeem(&system, &authorization, &code, &wrong).await,
        400,
        "invalid_grant",
    )
    .await;
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("code_verifier")),
        "{body}"
    );

    for case in ["missing verifier", "other client", "redirect differs"] {
        let authorization = Authorization::new(&client_id);
        let back = browser.authorize(&authorization).await;
        let code = redirect_params(&back)["code"].clone();
        let (client, redirect, verifier) = match case {
            "missing verifier" => (client_id.as_str(), REDIRECT.to_owned(), ""),
            "other client" => (other.as_str(), REDIRECT.to_owned(), authorization.verifier.as_str()),
            _ => (
                client_id.as_str(),
                format!("{REDIRECT}x"),
                authorization.verifier.as_str(),
            ),
        };
        let response = system
            .post_form(
                "/oauth2/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("client_id", client),
                    ("redirect_uri", &redirect),
                    ("code_verifier", verifier),
                ],
            )
            .await;
        assert_oauth_error(response, 400, "invalid_grant").await;
    }
}

#[tokio::test]
async fn a_code_whose_first_use_was_refused_is_spent_but_revokes_nothing() {
    let system = spawn_mcp().await;
    let client_id = public_client(&system, "Inspector").await;
    let mut browser = Browser::new(&system);
    let authorization = Authorization::new(&client_id);
    let code = authorize_fully(&system, &mut browser, &authorization).await;
    // Someone who intercepted the code, without the verifier, tries it first.
    let stolen = redeem(&system, &authorization, &code, &protocol::secrets::random_token(48)).await;
    assert_oauth_error(stolen, 400, "invalid_grant").await;
    let late = redeem(&system, &authorization, &code, &authorization.verifier).await;
    let body = assert_oauth_error(late, 400, "invalid_grant").await;
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.contains("revoked")),
        "{body}"
    );
    // Nothing was issued from the code, so the human's consent stands.
    let again = Authorization::new(&client_id);
    let params = redirect_params(&browser.authorize(&again).await);
    assert_eq!(
        redeem(&system, &again, &params["code"], &again.verifier).await.status(),
        200
    );
}

#[tokio::test]
async fn a_replayed_code_is_refused_and_kills_the_tokens_the_first_use_got() {
    let system = spawn_mcp().await;
    let client_id = public_client(&system, "Inspector").await;
    let resource_server = system.create_client(&["agent:read"]).await;
    let mut browser = Browser::new(&system);
    let authorization = Authorization::new(&client_id);
    let code = authorize_fully(&system, &mut browser, &authorization).await;

    let first = redeem(&system, &authorization, &code, &authorization.verifier).await;
    assert_eq!(first.status(), 200);
    let token = first.json::<Value>().await.expect("json")["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert!(active(&system, &resource_server, &token).await);

    let replay = redeem(&system, &authorization, &code, &authorization.verifier).await;
    let body = assert_oauth_error(replay, 400, "invalid_grant").await;
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("already used")),
        "{body}"
    );
    assert!(
        !active(&system, &resource_server, &token).await,
        "the grant the code served is revoked"
    );

    // The revoked consent is not remembered: the human is asked again.
    let again = browser.authorize(&Authorization::new(&client_id)).await;
    assert_eq!(again.status(), 200);
    assert!(again.text().await.expect("page").contains("Allow access?"));
}

#[tokio::test]
async fn disabling_the_client_ends_its_refresh_tokens_and_its_access_tokens() {
    use proto::clients::v1 as pb;
    let system = spawn_mcp().await;
    let client_id = public_client(&system, "Inspector").await;
    let resource_server = system.create_client(&["agent:read"]).await;
    let mut browser = Browser::new(&system);
    let authorization = Authorization::new(&client_id);
    let code = crate::human::authorize_fully(&system, &mut browser, &authorization).await;
    let response = redeem(&system, &authorization, &code, &authorization.verifier).await;
    let tokens: Value = response.json().await.expect("json");
    let mut admin = pb::client_admin_client::ClientAdminClient::new(
        shared::testing::pki().channel(system.token.grpc, "token-service"),
    );
    admin
        .set_client_enabled(pb::SetClientEnabledRequest {
            client_id: client_id.clone(),
            enabled: false,
        })
        .await
        .expect("disabled");
    let refreshed = system
        .post_form(
            "/oauth2/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().expect("refresh")),
                ("client_id", &client_id),
            ],
        )
        .await;
    assert_oauth_error(refreshed, 401, "invalid_client").await;
    let token = tokens["access_token"].as_str().expect("token");
    assert!(!active(&system, &resource_server, token).await);
}

#[tokio::test]
async fn discovery_advertises_the_authorization_code_flow() {
    let system = spawn_mcp().await;
    let metadata: Value = reqwest::get(system.identity_url("/.well-known/oauth-authorization-server"))
        .await
        .expect("reachable")
        .json()
        .await
        .expect("json");
    assert_eq!(metadata["authorization_endpoint"], format!("{ISSUER}/oauth2/authorize"));
    assert_eq!(metadata["registration_endpoint"], format!("{ISSUER}/oauth2/register"));
    assert_eq!(metadata["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(metadata["response_modes_supported"], serde_json::json!(["query"]));
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(metadata["authorization_response_iss_parameter_supported"], true);
    assert_eq!(metadata["client_id_metadata_document_supported"], true);
    let grants = metadata["grant_types_supported"].as_array().expect("list");
    assert!(grants.iter().any(|g| g == "authorization_code"));
}
