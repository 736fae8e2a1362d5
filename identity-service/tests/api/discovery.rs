use crate::helpers::{ISSUER, spawn};

#[tokio::test]
async fn metadata_advertises_every_endpoint_from_one_base_url() {
    let app = spawn().await;
    let response = reqwest::get(app.url("/.well-known/oauth-authorization-server"))
        .await
        .expect("reachable");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["issuer"], ISSUER);
    for (field, path) in [
        ("authorization_endpoint", "/oauth2/authorize"),
        ("token_endpoint", "/oauth2/token"),
        ("registration_endpoint", "/oauth2/register"),
        ("revocation_endpoint", "/oauth2/revoke"),
        ("introspection_endpoint", "/oauth2/introspect"),
        ("jwks_uri", "/.well-known/jwks.json"),
    ] {
        assert_eq!(body[field], format!("{ISSUER}{path}"), "{field}");
    }
    assert_eq!(
        body["grant_types_supported"],
        serde_json::json!([
            "authorization_code",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:token-exchange"
        ])
    );
    // draft-mcguinness-oauth-actor-profile-00 §10.1, what token exchange reads and issues.
    let (access_token, jwt) = (
        "urn:ietf:params:oauth:token-type:access_token",
        "urn:ietf:params:oauth:token-type:jwt",
    );
    assert_eq!(
        body["actor_profile_token_exchange"],
        serde_json::json!({
            "subject_token_types_supported": [access_token, jwt],
            "actor_token_types_supported": [access_token, jwt],
            "requested_token_types_supported": [access_token],
        })
    );
    let auth_methods = body["token_endpoint_auth_methods_supported"].as_array().expect("array");
    assert!(auth_methods.contains(&"client_secret_basic".into()));
    assert!(auth_methods.contains(&"client_secret_post".into()));
    assert_eq!(body["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        body["scopes_supported"],
        serde_json::json!(["agent:read", "agent:write"])
    );
    let agent = &body["agent_auth"];
    assert_eq!(agent["identity_endpoint"], format!("{ISSUER}/agent/identity"));
    assert_eq!(agent["claim_endpoint"], format!("{ISSUER}/agent/identity/claim"));
    assert_eq!(agent["skill"], format!("{ISSUER}/auth.md"));
    assert_eq!(
        agent["identity_types_supported"],
        serde_json::json!(["anonymous", "identity_assertion"])
    );
    assert_eq!(
        agent["identity_assertion"]["assertion_types_supported"],
        serde_json::json!(["verified_email"])
    );
}

#[tokio::test]
async fn the_skill_document_is_written_for_this_deployment() {
    let app = spawn().await;
    let response = reqwest::get(app.url("/auth.md")).await.expect("reachable");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/markdown; charset=utf-8");
    let text = response.text().await.expect("text");
    assert!(text.contains(&format!("POST {ISSUER}/agent/identity")));
    assert!(text.contains(&format!("POST {ISSUER}/oauth2/token")));
    assert!(text.contains("claim/complete") && text.contains("Retry-After"));
    assert!(!text.contains("{issuer}"), "every placeholder filled");
}

#[tokio::test]
async fn switched_off_paths_leave_discovery() {
    let app = crate::helpers::spawn_with(crate::helpers::memory(), |s| {
        s.registration.verified_email_enabled = false;
    })
    .await;
    let body: serde_json::Value = reqwest::get(app.url("/.well-known/oauth-authorization-server"))
        .await
        .expect("reachable")
        .json()
        .await
        .expect("json");
    assert_eq!(
        body["agent_auth"]["identity_types_supported"],
        serde_json::json!(["anonymous"])
    );
}

#[tokio::test]
async fn protected_resource_metadata_for_configured_resources() {
    use protocol::oauth::ProtectedResource;
    let app = crate::helpers::spawn_with(crate::helpers::memory(), |s| {
        s.protected_resources = vec![ProtectedResource {
            resource: "https://api.agentauth.test/reports".into(),
            scopes_supported: vec!["agent:read".into()],
            resource_name: Some("Reports API".into()),
        }];
    })
    .await;
    let response = reqwest::get(app.url("/.well-known/oauth-protected-resource/reports"))
        .await
        .expect("reachable");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["resource"], "https://api.agentauth.test/reports");
    assert_eq!(body["authorization_servers"], serde_json::json!([ISSUER]));
    assert_eq!(body["scopes_supported"], serde_json::json!(["agent:read"]));
    assert_eq!(body["resource_name"], "Reports API");
    let missing = reqwest::get(app.url("/.well-known/oauth-protected-resource/other"))
        .await
        .expect("reachable");
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn every_listed_public_route_is_mounted() {
    let app = crate::helpers::spawn().await;
    for route in identity_service::http::ROUTES {
        let path = route.replace("{path}", "some/resource");
        let get = app.http.get(app.url(&path)).send().await.expect("reachable");
        let post = app.http.post(app.url(&path)).send().await.expect("reachable");
        let mounted = [get.status(), post.status()].iter().any(|s| *s != 404)
            // RFC 9728 metadata of an unconfigured resource is a 404 in JSON, not a missing route.
            || get.headers().get("content-type").is_some_and(|c| c == "application/json");
        assert!(mounted, "{route}: GET {} POST {}", get.status(), post.status());
    }
    let unknown = app.http.get(app.url("/agent/nothing")).send().await.expect("reachable");
    assert_eq!(unknown.status(), 404);
}

async fn metadata_with(tweak: impl FnOnce(&mut identity_service::settings::Settings)) -> serde_json::Value {
    let app = crate::helpers::spawn_with(crate::helpers::memory(), tweak).await;
    reqwest::get(app.url("/.well-known/oauth-authorization-server"))
        .await
        .expect("reachable")
        .json()
        .await
        .expect("json")
}

#[tokio::test]
async fn token_endpoint_capabilities_are_described_exactly_as_configured() {
    use serde_json::json;
    let defaults = metadata_with(|_| {}).await;
    assert_eq!(
        defaults["token_endpoint_auth_methods_supported"],
        json!(["none", "client_secret_basic", "client_secret_post", "private_key_jwt"]),
        "no mTLS method without a trusted certificate header"
    );
    for endpoint in ["token", "revocation", "introspection"] {
        assert_eq!(
            defaults[format!("{endpoint}_endpoint_auth_signing_alg_values_supported")],
            json!(["ES256", "Ed25519", "EdDSA", "RS256", "PS256"]),
            "RFC 8414 §2: {endpoint}"
        );
    }
    assert_eq!(
        defaults["introspection_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "private_key_jwt"])
    );
    assert_eq!(
        defaults["dpop_signing_alg_values_supported"],
        json!(["ES256", "Ed25519", "EdDSA", "RS256", "PS256"])
    );
    assert_eq!(defaults["tls_client_certificate_bound_access_tokens"], json!(false));
    assert!(defaults.get("mtls_endpoint_aliases").is_none());
    assert_eq!(
        defaults["authorization_response_iss_parameter_supported"],
        json!(true),
        "RFC 9207"
    );

    let mtls = metadata_with(|s| {
        s.token_endpoint.mtls.trusted_header = Some("x-client-cert".into());
        s.token_endpoint.mtls.endpoint_base_url = Some("https://mtls.agentauth.test".into());
    })
    .await;
    let methods = mtls["token_endpoint_auth_methods_supported"].as_array().expect("array");
    assert!(methods.contains(&json!("tls_client_auth")) && methods.contains(&json!("self_signed_tls_client_auth")));
    assert_eq!(mtls["tls_client_certificate_bound_access_tokens"], json!(true));
    assert_eq!(
        mtls["mtls_endpoint_aliases"]["token_endpoint"],
        "https://mtls.agentauth.test/oauth2/token"
    );

    let narrow = metadata_with(|s| {
        s.token_endpoint.auth_methods = vec!["client_secret_basic".into()];
        s.token_endpoint.dpop.enabled = false;
    })
    .await;
    assert_eq!(
        narrow["token_endpoint_auth_methods_supported"],
        json!(["none", "client_secret_basic"])
    );
    assert!(narrow.get("token_endpoint_auth_signing_alg_values_supported").is_none());
    assert!(narrow.get("dpop_signing_alg_values_supported").is_none());
}
