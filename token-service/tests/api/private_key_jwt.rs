//! RFC 7523 §2.2 `private_key_jwt`: keys inline or at a `jwks_uri`, and every check on
//! the assertion refused with `invalid_client` when it fails.

use proto::clients::v1 as pb;
use serde_json::{Value, json};
use shared::testing::{RedisServer, TestProvider};
use shared::time::unix_now;
use tonic::Code;

use crate::helpers::{ISSUER, TestSystem, assert_oauth_error, assert_ok, claims_of, spawn, spawn_with};
use crate::proofs::{ClientKey, TOKEN_ENDPOINT, assertion_claims};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client registered with `key`'s public JWK Set.
async fn key_client(system: &TestSystem, key: &ClientKey) -> String {
    let client = system.create_client(&["reports:read"]).await;
    let set = pb::SetKeysRequest {
        client_id: client.id.clone(),
        source: Some(pb::set_keys_request::Source::JwksJson(key.jwks())),
    };
    let info = system.admin().set_keys(set).await.expect("keys set").into_inner();
    assert_eq!(info.auth_method, "private_key_jwt");
    assert!(info.secrets.is_empty(), "a key-based client keeps no secret");
    client.id
}

async fn with_assertion(system: &TestSystem, assertion: &str, client_id: Option<&str>) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion),
    ];
    if let Some(id) = client_id {
        form.push(("client_id", id));
    }
    system.post_form("/oauth2/token", &form).await
}

/// RFC 6749 §5.2: a failed client assertion is a 400 `invalid_client` with no challenge,
/// since the client did not use the Authorization header (a `Basic` challenge made
/// oauth4webapi raise it and hide the error).
async fn refused(system: &TestSystem, assertion: &str, client_id: Option<&str>, why: &str) {
    let response = with_assertion(system, assertion, client_id).await;
    assert!(
        response.headers().get("www-authenticate").is_none(),
        "no challenge for a scheme the client did not use"
    );
    let body = assert_oauth_error(response, 400, "invalid_client").await;
    let description = body["error_description"].as_str().expect("text");
    assert!(description.contains(why), "expected `{why}`, got {body}");
}

#[tokio::test]
async fn a_registered_key_authenticates_the_client_and_its_secret_is_gone() {
    let system = spawn().await;
    let key = ClientKey::generate("k1");
    let id = key_client(&system, &key).await;
    let body = assert_ok(with_assertion(&system, &key.client_assertion(&id), Some(&id)).await).await;
    let claims = claims_of(body["access_token"].as_str().expect("token"));
    assert_eq!(
        (claims["sub"].as_str(), claims["client_id"].as_str()),
        (Some(id.as_str()), Some(id.as_str()))
    );
    // Without client_id: the assertion's iss names the client (RFC 7523 §3).
    assert_ok(with_assertion(&system, &key.client_assertion(&id), None).await).await;
    // The issuer is an accepted audience too.
    let mut claims = assertion_claims(&id);
    claims["aud"] = ISSUER.into();
    assert_ok(with_assertion(&system, &key.sign(&key.assertion_header(), &claims), Some(&id)).await).await;
    // An array audience naming the token endpoint.
    claims["aud"] = json!(["https://elsewhere.example", TOKEN_ENDPOINT]);
    claims["jti"] = "array-aud".into();
    assert_ok(with_assertion(&system, &key.sign(&key.assertion_header(), &claims), Some(&id)).await).await;
}

#[tokio::test]
async fn every_check_on_the_assertion_refuses_with_invalid_client() {
    let system = spawn().await;
    let key = ClientKey::generate("k1");
    let id = key_client(&system, &key).await;
    let spoil = |change: &dyn Fn(&mut Value)| {
        let mut claims = assertion_claims(&id);
        change(&mut claims);
        key.sign(&key.assertion_header(), &claims)
    };
    let now = unix_now();
    refused(
        &system,
        &spoil(&|c| c["iss"] = "cli_00000000000000000000000000000000".into()),
        Some(&id),
        "iss",
    )
    .await;
    refused(&system, &spoil(&|c| c["sub"] = "someone-else".into()), Some(&id), "sub").await;
    refused(
        &system,
        &spoil(&|c| c["aud"] = "https://evil.example/token".into()),
        Some(&id),
        "aud",
    )
    .await;
    refused(
        &system,
        &spoil(&|c| c["exp"] = (now - 120).into()),
        Some(&id),
        "expired",
    )
    .await;
    refused(
        &system,
        &spoil(&|c| c["exp"] = (now + 7200).into()),
        Some(&id),
        "longer",
    )
    .await;
    refused(
        &system,
        &spoil(&|c| c["nbf"] = (now + 600).into()),
        Some(&id),
        "not valid yet",
    )
    .await;
    refused(
        &system,
        &spoil(&|c| drop(c.as_object_mut().map(|o| o.remove("jti")))),
        Some(&id),
        "jti",
    )
    .await;
    refused(
        &system,
        &spoil(&|c| drop(c.as_object_mut().map(|o| o.remove("exp")))),
        Some(&id),
        "exp",
    )
    .await;

    let stranger = ClientKey::generate("k1");
    refused(&system, &stranger.client_assertion(&id), Some(&id), "signature").await;
    let unknown_kid = ClientKey::generate("k9");
    refused(&system, &unknown_kid.client_assertion(&id), Some(&id), "kid").await;

    // `none` and HMAC: never, whatever the header claims.
    let claims = assertion_claims(&id);
    let b64 = |v: &Value| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let none = format!("{}.{}.", b64(&json!({"alg": "none", "kid": "k1"})), b64(&claims));
    refused(&system, &none, Some(&id), "not a signed JWT").await;
    let hmac = jsonwebtoken::encode(
        &jsonwebtoken::Header {
            kid: Some("k1".into()),
            ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
        },
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(key.jwks().as_bytes()),
    )
    .expect("sign");
    refused(&system, &hmac, Some(&id), "alg").await;
    let crit = key.sign(
        &json!({"alg": "ES256", "kid": "k1", "crit": ["exp"]}),
        &assertion_claims(&id),
    );
    refused(&system, &crit, Some(&id), "critical").await;

    // The assertion names one client, client_id another.
    let other = key_client(&system, &ClientKey::generate("k1")).await;
    refused(&system, &key.client_assertion(&id), Some(&other), "").await;
    // A secret client cannot switch to assertions, nor a key client to secrets.
    let secret_client = system.create_client(&["reports:read"]).await;
    refused(
        &system,
        &key.client_assertion(&secret_client.id),
        Some(&secret_client.id),
        "another authentication method",
    )
    .await;
    let response = system
        .http
        .post(system.token_url("/oauth2/token"))
        .basic_auth(&id, Some("guess"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("reachable");
    assert_oauth_error(response, 401, "invalid_client").await;
    // Two methods at once.
    let response = system
        .http
        .post(system.token_url("/oauth2/token"))
        .basic_auth(&secret_client.id, Some(&secret_client.secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", key.client_assertion(&id).as_str()),
        ])
        .send()
        .await
        .expect("reachable");
    assert_oauth_error(response, 400, "invalid_request").await;
    let wrong_type = system
        .post_form(
            "/oauth2/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", "urn:example:saml"),
                ("client_assertion", key.client_assertion(&id).as_str()),
            ],
        )
        .await;
    assert_oauth_error(wrong_type, 400, "invalid_client").await;
}

#[tokio::test]
async fn an_assertion_is_single_use_on_every_replica() {
    let redis = RedisServer::start();
    let store = redis.store_settings();
    let system = spawn_with(store.clone()).await;
    let replica = system.token_replica(store, |_| {}).await;
    let key = ClientKey::generate("k1");
    let id = key_client(&system, &key).await;
    let assertion = key.client_assertion(&id);
    assert_ok(with_assertion(&system, &assertion, Some(&id)).await).await;
    refused(&system, &assertion, Some(&id), "already used").await;
    let on_replica = system
        .http
        .post(format!("http://{}/oauth2/token", replica.http))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion.as_str()),
        ])
        .send()
        .await
        .expect("replica reachable");
    let body = assert_oauth_error(on_replica, 400, "invalid_client").await;
    assert!(
        body["error_description"]
            .as_str()
            .expect("text")
            .contains("already used"),
        "{body}"
    );
}

#[tokio::test]
async fn keys_at_a_jwks_uri_are_fetched_and_private_addresses_are_refused() {
    let system = spawn().await;
    let provider = TestProvider::start().await;
    let client = system.create_client(&["reports:read"]).await;
    let mut admin = system.admin();
    admin
        .set_keys(pb::SetKeysRequest {
            client_id: client.id.clone(),
            source: Some(pb::set_keys_request::Source::JwksUri(provider.jwks_uri.clone())),
        })
        .await
        .expect("a loopback jwks_uri is allowed in development");
    let header = jsonwebtoken::Header {
        typ: Some("JWT".into()),
        ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256)
    };
    let assertion = provider.sign_with_header(header, &assertion_claims(&client.id));
    assert_ok(with_assertion(&system, &assertion, Some(&client.id)).await).await;

    for forbidden in [
        "https://10.0.0.7/jwks.json",
        "https://192.168.1.1/jwks.json",
        "https://169.254.169.254/latest/meta-data",
        "https://[fd00::1]/jwks.json",
        "http://jwks.example.com/jwks.json",
        "file:///etc/passwd",
    ] {
        let refused = admin
            .set_keys(pb::SetKeysRequest {
                client_id: client.id.clone(),
                source: Some(pb::set_keys_request::Source::JwksUri(forbidden.into())),
            })
            .await
            .expect_err(forbidden);
        assert_eq!(refused.code(), Code::InvalidArgument, "{forbidden}");
    }
    for bad in [
        r#"{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"h"}]}"#.to_owned(),
        json!({"keys": [ClientKey::generate("p").private_jwk()]}).to_string(),
        r#"{"keys":[]}"#.to_owned(),
        "not json".to_owned(),
    ] {
        let refused = admin
            .set_keys(pb::SetKeysRequest {
                client_id: client.id.clone(),
                source: Some(pb::set_keys_request::Source::JwksJson(bad.clone())),
            })
            .await
            .expect_err(&bad);
        assert_eq!(refused.code(), Code::InvalidArgument, "{bad}");
    }
}
