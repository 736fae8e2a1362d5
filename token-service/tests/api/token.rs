//! `POST /oauth2/token`: both grants and every error of RFC 6749 §5.2 we answer.

use std::time::{Duration, Instant};

use base64::Engine as _;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use serde_json::{Value, json};
use shared::time::unix_now;

use crate::helpers::{ISSUER, JWT_BEARER, assert_no_store, assert_oauth_error, assert_ok, spawn};

#[tokio::test]
async fn jwt_bearer_exchange_returns_an_rfc_9068_token_verifiable_with_the_jwks() {
    let system = spawn().await;
    let registered = system.register_anonymous().await;
    let assertion = registered["identity_assertion"].as_str().expect("assertion");
    let response = system
        .post_form("/oauth2/token", &[("grant_type", JWT_BEARER), ("assertion", assertion)])
        .await;
    let body = assert_ok(response).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["scope"], "agent:read");
    let token = body["access_token"].as_str().expect("access_token");

    let header = decode_header(token).expect("header");
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let jwks: JwkSet = reqwest::get(format!("http://{}/.well-known/jwks.json", system.jwks.http))
        .await
        .expect("jwks")
        .json()
        .await
        .expect("jwks json");
    let key = DecodingKey::from_jwk(jwks.find(header.kid.as_deref().expect("kid")).expect("published")).expect("key");
    let mut validation = Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[ISSUER]);
    let claims = decode::<Value>(token, &key, &validation).expect("verifies").claims;
    let id = registered["registration_id"].as_str().expect("id");
    assert_eq!(claims["sub"], id);
    assert_eq!(claims["client_id"], id);
    assert_eq!(claims["scope"], "agent:read");
    assert_eq!(
        claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"),
        900
    );
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
}

#[tokio::test]
async fn the_assertion_is_reusable_until_it_expires() {
    let system = spawn().await;
    let registered = system.register_anonymous().await;
    let assertion = registered["identity_assertion"].as_str().expect("assertion");
    let form = [("grant_type", JWT_BEARER), ("assertion", assertion)];
    let first = assert_ok(system.post_form("/oauth2/token", &form).await).await;
    let second = assert_ok(system.post_form("/oauth2/token", &form).await).await;
    assert_ne!(first["access_token"], second["access_token"]);
}

#[tokio::test]
async fn scope_narrows_the_grant_and_an_empty_result_is_invalid_scope() {
    let system = spawn().await;
    let registered = system.register_anonymous().await;
    let assertion = registered["identity_assertion"].as_str().expect("assertion");
    let with_scope = |scope: &'static str| [("grant_type", JWT_BEARER), ("assertion", assertion), ("scope", scope)];
    let body = assert_ok(
        system
            .post_form("/oauth2/token", &with_scope("agent:read agent:write"))
            .await,
    )
    .await;
    assert_eq!(body["scope"], "agent:read", "pre-claim scopes cap the request");
    let response = system.post_form("/oauth2/token", &with_scope("agent:write")).await;
    assert_oauth_error(response, 400, "invalid_scope").await;
    let response = system.post_form("/oauth2/token", &with_scope("bad\"scope")).await;
    assert_oauth_error(response, 400, "invalid_scope").await;
}

#[tokio::test]
async fn malformed_requests_are_invalid_request() {
    let system = spawn().await;
    let registered = system.register_anonymous().await;
    let assertion = registered["identity_assertion"].as_str().expect("assertion");
    let json_body = system
        .http
        .post(system.token_url("/oauth2/token"))
        .json(&json!({ "grant_type": JWT_BEARER, "assertion": assertion }))
        .send()
        .await
        .expect("reachable");
    assert_oauth_error(json_body, 400, "invalid_request").await;
    let bodies = [
        String::new(),
        format!("assertion={assertion}"),
        format!("grant_type={JWT_BEARER}"),
        format!("grant_type={JWT_BEARER}&grant_type={JWT_BEARER}&assertion={assertion}"),
        format!("grant_type={JWT_BEARER}&assertion={assertion}&assertion={assertion}"),
        format!("grant_type={JWT_BEARER}&assertion={assertion}&scope=a&scope=b"),
        format!("grant_type={JWT_BEARER}&assertion="),
    ];
    for body in bodies {
        let response = system
            .http
            .post(system.token_url("/oauth2/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await
            .expect("reachable");
        assert_oauth_error(response, 400, "invalid_request").await;
    }
}

#[tokio::test]
async fn unknown_grant_types_are_unsupported_grant_type() {
    let system = spawn().await;
    for grant in ["password", "urn:ietf:params:oauth:grant-type:saml2-bearer"] {
        let response = system.post_form("/oauth2/token", &[("grant_type", grant)]).await;
        assert_oauth_error(response, 400, "unsupported_grant_type").await;
    }
    // Token exchange is served now: without its parameters it is a malformed request.
    let response = system
        .post_form(
            "/oauth2/token",
            &[("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange")],
        )
        .await;
    assert_oauth_error(response, 400, "invalid_request").await;
}

#[tokio::test]
async fn bad_assertions_are_invalid_grant() {
    let system = spawn().await;
    let registered = system.register_anonymous().await;
    let id = registered["registration_id"].as_str().expect("id");
    let now = unix_now();
    let claims = |exp: i64, iss: &str, sub: &str| {
        json!({"iss": iss, "aud": ISSUER, "sub": sub, "client_id": sub, "jti": "j",
               "iat": exp - 600, "exp": exp, "registration_type": "anonymous"})
    };
    let foreign_key = shared::testing::TestKey::generate("foreign").signer();
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let unknown = protocol::secrets::random_bytes(16)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    let assertions = [
        "not-a-jwt".to_owned(),
        system.sign("oauth-id-jag+jwt", &claims(now - 120, ISSUER, id)),
        system.sign("oauth-id-jag+jwt", &claims(now + 600, "https://evil.test", id)),
        foreign_key
            .sign("oauth-id-jag+jwt", &claims(now + 600, ISSUER, id))
            .expect("sign"),
        format!(
            "{}.{}.",
            b64(&json!({"alg": "none"})),
            b64(&claims(now + 600, ISSUER, id))
        ),
        system.sign("at+jwt", &claims(now + 600, ISSUER, id)),
        system.sign(
            "oauth-id-jag+jwt",
            &claims(now + 600, ISSUER, &format!("reg_{unknown}")),
        ),
    ];
    for (i, assertion) in assertions.iter().enumerate() {
        let response = system
            .post_form("/oauth2/token", &[("grant_type", JWT_BEARER), ("assertion", assertion)])
            .await;
        let body = assert_oauth_error(response, 400, "invalid_grant").await;
        assert!(
            !body["error_description"].as_str().unwrap_or_default().is_empty(),
            "case {i}"
        );
    }
}

#[tokio::test]
async fn client_credentials_with_basic_or_post_authentication() {
    let system = spawn().await;
    let client = system.create_client(&["reports:read", "reports:write"]).await;
    let basic = system
        .http
        .post(system.token_url("/oauth2/token"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "reports:read")])
        .send()
        .await
        .expect("reachable");
    let body = assert_ok(basic).await;
    assert_eq!(body["scope"], "reports:read");
    let claims = jsonwebtoken::dangerous::insecure_decode::<Value>(body["access_token"].as_str().expect("token"))
        .expect("jwt")
        .claims;
    assert_eq!(claims["sub"], client.id.as_str(), "RFC 9068 §2.2: sub is the client");
    assert_eq!(claims["client_id"], client.id.as_str());

    let post = system
        .post_form(
            "/oauth2/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client.id),
                ("client_secret", &client.secret),
            ],
        )
        .await;
    assert_eq!(
        assert_ok(post).await["scope"],
        "reports:read reports:write",
        "no scope: all allowed"
    );

    let outside = system
        .post_form(
            "/oauth2/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client.id),
                ("client_secret", &client.secret),
                ("scope", "admin"),
            ],
        )
        .await;
    assert_oauth_error(outside, 400, "invalid_scope").await;
}

#[tokio::test]
async fn failed_client_authentication_is_invalid_client_with_a_challenge_for_the_scheme_used() {
    let system = spawn().await;
    let client = system.create_client(&["reports:read"]).await;
    let grant = [("grant_type", "client_credentials")];
    let cases: Vec<reqwest::RequestBuilder> = vec![
        system.http.post(system.token_url("/oauth2/token")).form(&grant),
        system
            .http
            .post(system.token_url("/oauth2/token"))
            .basic_auth(&client.id, Some("wrong-secret"))
            .form(&grant),
        system
            .http
            .post(system.token_url("/oauth2/token"))
            .basic_auth("cli_00000000000000000000000000000000", Some(&client.secret))
            .form(&grant),
        system
            .http
            .post(system.token_url("/oauth2/token"))
            .basic_auth("not-a-client-id", Some(&client.secret))
            .form(&grant),
        system
            .http
            .post(system.token_url("/oauth2/token"))
            .header("authorization", "Basic !!!not-base64")
            .form(&grant),
        system
            .http
            .post(system.token_url("/oauth2/token"))
            .header("authorization", "Bearer abc")
            .form(&grant),
    ];
    for request in cases {
        let response = request.send().await.expect("reachable");
        let challenge = response.headers()["www-authenticate"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(challenge.starts_with("Basic realm="), "{challenge}");
        assert_oauth_error(response, 401, "invalid_client").await;
    }
    // RFC 6749 §5.2: credentials in the body are not an HTTP authentication scheme, so
    // their failure is a 400 with no challenge to misdirect the client.
    let in_body = system
        .http
        .post(system.token_url("/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client.id.as_str()),
            ("client_secret", "wrong"),
        ])
        .send()
        .await
        .expect("reachable");
    assert!(in_body.headers().get("www-authenticate").is_none());
    assert_oauth_error(in_body, 400, "invalid_client").await;
    let both = system
        .http
        .post(system.token_url("/oauth2/token"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client.id),
            ("client_secret", &client.secret),
        ])
        .send()
        .await
        .expect("reachable");
    assert_oauth_error(both, 400, "invalid_request").await;
}

#[tokio::test]
async fn only_post_is_allowed() {
    let system = spawn().await;
    for path in ["/oauth2/token", "/oauth2/revoke", "/oauth2/introspect"] {
        let response = system.http.get(system.token_url(path)).send().await.expect("reachable");
        assert_eq!(response.headers()["allow"], "POST");
        assert_no_store(&response);
        assert_eq!(response.status(), 405);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"], "invalid_request");
    }
}

#[tokio::test]
async fn identity_service_down_is_a_prompt_503_never_a_hang() {
    let system = spawn().await;
    let registered = system.register_anonymous().await;
    let assertion = registered["identity_assertion"].as_str().expect("assertion").to_owned();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    // A token-service whose identity peer is a closed port.
    let orphan = token_service::startup::Application::build(crate::helpers::token_settings(
        crate::helpers::memory(),
        closed,
        system.jwks.grpc,
    ))
    .await
    .expect("builds");
    crate::helpers::wait_for_key(orphan.service().key_ring()).await;
    let orphan = shared::testing::Running::start(orphan);
    let started = Instant::now();
    let response = system
        .http
        .post(orphan.url("/oauth2/token"))
        .form(&[("grant_type", JWT_BEARER), ("assertion", &assertion)])
        .send()
        .await
        .expect("reachable");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "bounded by the peer timeouts"
    );
    assert_eq!(response.headers()["retry-after"], "5");
    assert_oauth_error(response, 503, "temporarily_unavailable").await;
}

#[tokio::test]
async fn every_listed_public_route_is_mounted_and_nothing_else_answers() {
    let system = spawn().await;
    for route in token_service::http::ROUTES {
        let response = system
            .http
            .get(system.token_url(route))
            .send()
            .await
            .expect("reachable");
        assert_eq!(response.status(), 405, "{route} is mounted (POST only)");
    }
    let unknown = system
        .http
        .get(system.token_url("/oauth2/nothing"))
        .send()
        .await
        .expect("reachable");
    assert_eq!(unknown.status(), 404);
}
