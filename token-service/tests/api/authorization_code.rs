//! The authorization code flow end to end, three services each a real application: a
//! public client registers, a human signs in by email and code and consents at
//! identity-service, the client redeems the code at token-service. Then each hostile
//! case the flow must refuse, with its exact error.

use serde_json::Value;

use crate::helpers::{ISSUER, assert_oauth_error, claims_of};
use crate::human::{
    Authorization, Browser, EMAIL, REDIRECT, RESOURCE, authorize_fully, csrf, decide, public_client, redeem,
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
    let wrong = shared::secrets::random_token(48);
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
    let introspect = || async {
        let response = system
            .post_form(
                "/oauth2/introspect",
                &[
                    ("token", token.as_str()),
                    ("client_id", &resource_server.id),
                    ("client_secret", &resource_server.secret),
                ],
            )
            .await;
        response.json::<Value>().await.expect("json")["active"].clone()
    };
    assert_eq!(introspect().await, true);

    let replay = redeem(&system, &authorization, &code, &authorization.verifier).await;
    let body = assert_oauth_error(replay, 400, "invalid_grant").await;
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("already used")),
        "{body}"
    );
    assert_eq!(introspect().await, false, "the grant the code served is revoked");

    // The revoked consent is not remembered: the human is asked again.
    let again = browser.authorize(&Authorization::new(&client_id)).await;
    assert_eq!(again.status(), 200);
    assert!(again.text().await.expect("page").contains("Allow access?"));
}

#[tokio::test]
async fn errors_before_the_redirect_uri_is_trusted_are_pages_and_never_redirects() {
    let system = spawn_mcp().await;
    let client_id = public_client(&system, "Inspector").await;
    let mut browser = Browser::new(&system);
    for (case, extra) in [
        (
            "a redirect URI one character off",
            vec![("redirect_uri", "http://127.0.0.1:33418/callbacks")],
        ),
        ("an open redirect", vec![("redirect_uri", "https://evil.example/steal")]),
        (
            "an unknown client",
            vec![("client_id", "cli_00000000000000000000000000000000")],
        ),
        ("no client", vec![("client_id", "")]),
    ] {
        let response = browser.authorize(&Authorization::with(&client_id, &extra)).await;
        assert_eq!(response.status(), 400, "{case}");
        assert!(
            response.headers().get("location").is_none(),
            "{case}: never sent anywhere"
        );
        assert!(
            response.text().await.expect("page").contains("Cannot continue"),
            "{case}"
        );
    }
}

#[tokio::test]
async fn protocol_errors_go_back_to_the_client_with_state_and_iss() {
    let system = spawn_mcp().await;
    let client_id = public_client(&system, "Inspector").await;
    let mut browser = Browser::new(&system);
    for (extra, error) in [
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (
            vec![("code_challenge", ""), ("code_challenge_method", "")],
            "invalid_request",
        ),
        (vec![("response_type", "token")], "unsupported_response_type"),
        (vec![("scope", "admin")], "invalid_scope"),
        (vec![("resource", "https://elsewhere.example/api")], "invalid_target"),
        (vec![("prompt", "none")], "login_required"),
    ] {
        let authorization = Authorization::with(&client_id, &extra);
        let response = browser.authorize(&authorization).await;
        let params = redirect_params(&response);
        assert_eq!(params["error"], error, "{extra:?}");
        assert_eq!(params["state"], authorization.state);
        assert_eq!(params["iss"], ISSUER);
        assert!(!params.contains_key("code"));
    }
    let authorization = Authorization::with(&client_id, &[("code_challenge_method", "plain")]);
    let params = redirect_params(&browser.authorize(&authorization).await);
    assert!(params["error_description"].contains("S256"), "{params:?}");
}

#[tokio::test]
async fn denying_sends_access_denied_and_a_forged_consent_is_refused() {
    let system = spawn_mcp().await;
    let client_id = public_client(&system, "Inspector").await;
    let mut browser = Browser::new(&system);
    let authorization = Authorization::new(&client_id);
    let consent = sign_in(&system, &mut browser, &authorization, EMAIL).await;
    let page = consent.text().await.expect("page");

    // CSRF: the human's own session, but a token the page never gave.
    let forged = browser
        .post(
            "/oauth2/authorize/consent",
            &[
                ("request", &authorization.query),
                ("csrf", "forged"),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(forged.status(), 403);
    assert!(forged.headers().get("location").is_none());
    // Another browser with no session at all, posting the real token.
    let mut stranger = Browser::new(&system);
    let token = csrf(&page);
    let forged = stranger
        .post(
            "/oauth2/authorize/consent",
            &[
                ("request", &authorization.query),
                ("csrf", &token),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(forged.status(), 403);

    let denied = decide(&mut browser, &authorization, &page, "deny").await;
    let params = redirect_params(&denied);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], authorization.state);
}

#[tokio::test]
async fn a_session_cookie_from_before_sign_in_is_never_signed_in() {
    let system = spawn_mcp().await;
    let client_id = public_client(&system, "Inspector").await;
    let mut browser = Browser::new(&system);
    let authorization = Authorization::new(&client_id);
    // The cookie an attacker could plant: the one the login page set.
    let login = browser.authorize(&authorization).await;
    assert_eq!(login.status(), 200);
    let planted = browser.cookie.clone().expect("a session cookie");
    let consent = sign_in(&system, &mut browser, &authorization, EMAIL).await;
    assert_eq!(consent.status(), 200);
    assert_ne!(
        browser.cookie.as_deref(),
        Some(planted.as_str()),
        "signing in renews the session"
    );

    let mut attacker = Browser::new(&system);
    attacker.cookie = Some(planted);
    let page = attacker.authorize(&authorization).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("page");
    assert!(
        html.contains("Sign in") && !html.contains("Allow access?"),
        "still signed out"
    );
}

#[tokio::test]
async fn wrong_sign_in_codes_are_counted_and_the_attempt_dies() {
    let system = spawn_mcp().await;
    let client_id = public_client(&system, "Inspector").await;
    let mut browser = Browser::new(&system);
    let authorization = Authorization::new(&client_id);
    let login = browser.authorize(&authorization).await;
    let token = csrf(&login.text().await.expect("page"));
    let sent = browser
        .post(
            "/oauth2/authorize/login",
            &[("request", &authorization.query), ("csrf", &token), ("email", EMAIL)],
        )
        .await;
    let token = csrf(&sent.text().await.expect("page"));
    let right = crate::human::latest_code(system.outbox.path());
    let wrong = if right == "000000" { "111111" } else { "000000" };
    let form = |code: &str| {
        vec![
            ("request".to_owned(), authorization.query.clone()),
            ("csrf".to_owned(), token.clone()),
            ("code".to_owned(), code.to_owned()),
        ]
    };
    for n in 1..=5 {
        let fields = form(wrong);
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let response = browser.post("/oauth2/authorize/verify", &pairs).await;
        let expected = if n < 5 { 401 } else { 400 };
        assert_eq!(response.status(), expected, "wrong code {n}");
    }
    let fields = form(&right);
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let response = browser.post("/oauth2/authorize/verify", &pairs).await;
    assert_eq!(
        response.status(),
        400,
        "even the right code is refused after five wrong ones"
    );
    assert!(response.text().await.expect("page").contains("expired or was used"));
}

#[tokio::test]
async fn a_loopback_redirect_may_change_its_port_and_nothing_else() {
    let system = spawn_mcp().await;
    let client_id = public_client(&system, "Inspector").await;
    let mut browser = Browser::new(&system);
    let moved = "http://127.0.0.1:50999/callback";
    let authorization = Authorization::with(&client_id, &[("redirect_uri", moved)]);
    let login = browser.authorize(&authorization).await;
    assert_eq!(login.status(), 200, "RFC 8252 §7.3: any port");
    let elsewhere = Authorization::with(&client_id, &[("redirect_uri", "http://127.0.0.1:50999/other")]);
    assert_eq!(browser.authorize(&elsewhere).await.status(), 400);
    let localhost = Authorization::with(&client_id, &[("redirect_uri", "http://localhost:33418/callback")]);
    assert_eq!(
        browser.authorize(&localhost).await.status(),
        400,
        "another host is another URI"
    );
}

#[tokio::test]
async fn sign_in_codes_are_rate_limited_per_address() {
    let system = spawn_mcp().await;
    let client_id = public_client(&system, "Inspector").await;
    let mut browser = Browser::new(&system);
    let authorization = Authorization::new(&client_id);
    let login = browser.authorize(&authorization).await;
    let token = csrf(&login.text().await.expect("page"));
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let sent = browser
            .post(
                "/oauth2/authorize/login",
                &[("request", &authorization.query), ("csrf", &token), ("email", EMAIL)],
            )
            .await;
        statuses.push(sent.status().as_u16());
        if sent.status() == 429 {
            assert!(sent.headers().contains_key("retry-after"));
        }
    }
    assert_eq!(
        statuses,
        [200, 200, 200, 200, 200, 429],
        "five codes per address per window"
    );
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
    let introspected: Value = system
        .post_form(
            "/oauth2/introspect",
            &[
                ("token", tokens["access_token"].as_str().expect("token")),
                ("client_id", &resource_server.id),
                ("client_secret", &resource_server.secret),
            ],
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(introspected["active"], false);
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
