//! RFC 9449 DPoP on both grants: proofs checked per §4.3 and refused with
//! `invalid_dpop_proof` when any check fails, tokens bound by `cnf.jkt`, server nonces,
//! clients that must use DPoP, and assertions bound at registration.

use proto::clients::v1 as pb;
use serde_json::{Value, json};
use shared::testing::RedisServer;
use shared::time::unix_now;

use crate::helpers::{
    JWT_BEARER, TestClient, TestSystem, assert_oauth_error, assert_ok, claims_of, memory, spawn, spawn_all, spawn_with,
};
use crate::proofs::{ClientKey, IDENTITY_ENDPOINT, TOKEN_ENDPOINT, dpop_claims};

async fn with_proof(system: &TestSystem, client: &TestClient, proof: &str) -> reqwest::Response {
    system
        .http
        .post(system.token_url("/oauth2/token"))
        .basic_auth(&client.id, Some(&client.secret))
        .header("DPoP", proof)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("reachable")
}

async fn refused(system: &TestSystem, client: &TestClient, proof: &str, why: &str) {
    let body = assert_oauth_error(with_proof(system, client, proof).await, 400, "invalid_dpop_proof").await;
    let description = body["error_description"].as_str().expect("text");
    assert!(description.contains(why), "expected `{why}`, got {body}");
}

#[tokio::test]
async fn a_proof_binds_the_client_credentials_token_to_its_key() {
    let system = spawn().await;
    let client = system.create_client(&["reports:read"]).await;
    let key = ClientKey::generate("dpop");
    let body = assert_ok(with_proof(&system, &client, &key.dpop_proof()).await).await;
    assert_eq!(body["token_type"], "DPoP");
    let token = body["access_token"].as_str().expect("token");
    assert_eq!(claims_of(token)["cnf"], json!({ "jkt": key.thumbprint() }));
    let introspected = system.introspect(&client, token).await;
    assert_eq!(introspected["token_type"], "DPoP");
    assert_eq!(introspected["cnf"]["jkt"], key.thumbprint());
    // Without a proof the same client gets a bearer token.
    let bearer = assert_ok(system.client_credentials(&client, &[]).await).await;
    assert_eq!(bearer["token_type"], "Bearer");
    assert!(
        claims_of(bearer["access_token"].as_str().expect("token"))
            .get("cnf")
            .is_none()
    );
    // Revocation takes a DPoP-bound token like any other.
    let revoked = system
        .http
        .post(system.token_url("/oauth2/revoke"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[("token", token)])
        .send()
        .await
        .expect("reachable");
    assert_eq!(revoked.status(), 200);
    assert_eq!(system.introspect(&client, token).await, json!({ "active": false }));
}

#[tokio::test]
async fn an_agent_binds_its_exchange_with_a_proof() {
    let system = spawn().await;
    let registered = system.register_anonymous().await;
    let assertion = registered["identity_assertion"].as_str().expect("assertion");
    let key = ClientKey::generate("agent");
    let response = system
        .http
        .post(system.token_url("/oauth2/token"))
        .header("DPoP", key.dpop_proof())
        .form(&[("grant_type", JWT_BEARER), ("assertion", assertion)])
        .send()
        .await
        .expect("reachable");
    let body = assert_ok(response).await;
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(
        claims_of(body["access_token"].as_str().expect("token"))["cnf"]["jkt"],
        key.thumbprint()
    );
    // The assertion is not bound: re-presenting it without a proof still works.
    let again = system
        .post_form("/oauth2/token", &[("grant_type", JWT_BEARER), ("assertion", assertion)])
        .await;
    assert_eq!(assert_ok(again).await["token_type"], "Bearer");
}

#[tokio::test]
async fn every_check_of_section_4_3_refuses_with_invalid_dpop_proof() {
    let system = spawn().await;
    let client = system.create_client(&["reports:read"]).await;
    let key = ClientKey::generate("dpop");
    let header = key.dpop_header();
    let claims = dpop_claims("POST", TOKEN_ENDPOINT);
    let spoil_claims = |change: &dyn Fn(&mut Value)| {
        let mut c = dpop_claims("POST", TOKEN_ENDPOINT);
        change(&mut c);
        key.sign(&header, &c)
    };
    let spoil_header = |change: &dyn Fn(&mut Value)| {
        let mut h = key.dpop_header();
        change(&mut h);
        key.sign(&h, &dpop_claims("POST", TOKEN_ENDPOINT))
    };
    refused(&system, &client, &spoil_claims(&|c| c["htm"] = "GET".into()), "htm").await;
    refused(
        &system,
        &client,
        &spoil_claims(&|c| c["htu"] = "https://agentauth.test/oauth2/revoke".into()),
        "htu",
    )
    .await;
    refused(
        &system,
        &client,
        &spoil_claims(&|c| c["htu"] = "https://evil.example/oauth2/token".into()),
        "htu",
    )
    .await;
    refused(
        &system,
        &client,
        &spoil_claims(&|c| c["iat"] = (unix_now() - 600).into()),
        "iat",
    )
    .await;
    refused(
        &system,
        &client,
        &spoil_claims(&|c| c["iat"] = (unix_now() + 600).into()),
        "iat",
    )
    .await;
    refused(
        &system,
        &client,
        &spoil_claims(&|c| drop(c.as_object_mut().map(|o| o.remove("jti")))),
        "jti",
    )
    .await;
    refused(&system, &client, &spoil_header(&|h| h["typ"] = "JWT".into()), "typ").await;
    refused(
        &system,
        &client,
        &spoil_header(&|h| drop(h.as_object_mut().map(|o| o.remove("jwk")))),
        "jwk",
    )
    .await;
    refused(
        &system,
        &client,
        &spoil_header(&|h| h["jwk"] = key.private_jwk()),
        "public key",
    )
    .await;
    refused(
        &system,
        &client,
        &spoil_header(&|h| h["jwk"] = ClientKey::generate("x").public_jwk()),
        "signature",
    )
    .await;
    refused(&system, &client, &spoil_header(&|h| h["alg"] = "ES384".into()), "alg").await;
    // HMAC and `none`, whatever key they carry.
    let b64 = |v: &Value| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "dpop+jwt", "jwk": key.public_jwk()})),
        b64(&claims)
    );
    refused(&system, &client, &none, "alg").await;
    let oct = json!({"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"});
    let hmac = jsonwebtoken::encode(
        &jsonwebtoken::Header {
            typ: Some("dpop+jwt".into()),
            jwk: serde_json::from_value(oct).ok(),
            ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
        },
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"secret-secret-secret-secret"),
    )
    .expect("sign");
    refused(&system, &client, &hmac, "alg").await;
    refused(&system, &client, "not.a.jws", "compact JWS").await;

    // Two DPoP headers.
    let response = system
        .http
        .post(system.token_url("/oauth2/token"))
        .basic_auth(&client.id, Some(&client.secret))
        .header("DPoP", key.dpop_proof())
        .header("DPoP", key.dpop_proof())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("reachable");
    assert_oauth_error(response, 400, "invalid_dpop_proof").await;
    // The URL compared as RFC 9449 §4.3 says: case, default port and query do not matter.
    let normalised = spoil_claims(&|c| c["htu"] = "HTTPS://AgentAuth.test:443/oauth2/token?x=1".into());
    assert_ok(with_proof(&system, &client, &normalised).await).await;
}

#[tokio::test]
async fn a_replayed_proof_is_refused_on_every_replica() {
    let redis = RedisServer::start();
    let store = redis.store_settings();
    let system = spawn_with(store.clone()).await;
    let replica = system.token_replica(store, |_| {}).await;
    let client = system.create_client(&["reports:read"]).await;
    let proof = ClientKey::generate("dpop").dpop_proof();
    assert_ok(with_proof(&system, &client, &proof).await).await;
    refused(&system, &client, &proof, "already used").await;
    let on_replica = system
        .http
        .post(format!("http://{}/oauth2/token", replica.http))
        .basic_auth(&client.id, Some(&client.secret))
        .header("DPoP", &proof)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("replica reachable");
    let body = assert_oauth_error(on_replica, 400, "invalid_dpop_proof").await;
    assert!(
        body["error_description"]
            .as_str()
            .expect("text")
            .contains("already used")
    );
}

#[tokio::test]
async fn with_nonces_required_the_first_proof_learns_the_nonce_and_the_retry_succeeds() {
    let system = spawn_all(
        memory(),
        |_| {},
        |_| {},
        |token| token.token_endpoint.dpop.require_nonce = true,
    )
    .await;
    let client = system.create_client(&["reports:read"]).await;
    let key = ClientKey::generate("dpop");
    let first = with_proof(&system, &client, &key.dpop_proof()).await;
    let nonce = first.headers()["dpop-nonce"].to_str().expect("ascii").to_owned();
    assert_oauth_error(first, 400, "use_dpop_nonce").await;
    let mut claims = dpop_claims("POST", TOKEN_ENDPOINT);
    claims["nonce"] = nonce.clone().into();
    let retried = with_proof(&system, &client, &key.sign(&key.dpop_header(), &claims)).await;
    assert!(
        retried.headers().contains_key("dpop-nonce"),
        "a fresh nonce comes with every success"
    );
    assert_eq!(assert_ok(retried).await["token_type"], "DPoP");
    let mut forged = dpop_claims("POST", TOKEN_ENDPOINT);
    forged["nonce"] = nonce.replace('.', ".x").into();
    let response = with_proof(&system, &client, &key.sign(&key.dpop_header(), &forged)).await;
    assert_oauth_error(response, 400, "use_dpop_nonce").await;
}

#[tokio::test]
async fn a_client_that_requires_dpop_gets_no_bearer_token() {
    let system = spawn().await;
    let created = system
        .admin()
        .create_client(pb::CreateClientRequest {
            scopes: vec!["reports:read".into()],
            name: "bound".into(),
            requires_dpop: true,
            ..Default::default()
        })
        .await
        .expect("create")
        .into_inner();
    let client = TestClient {
        id: created.client_id,
        secret: created.client_secret,
    };
    let body = assert_oauth_error(system.client_credentials(&client, &[]).await, 400, "invalid_request").await;
    assert!(
        body["error_description"].as_str().expect("text").contains("DPoP"),
        "{body}"
    );
    let proof = ClientKey::generate("dpop").dpop_proof();
    assert_eq!(
        assert_ok(with_proof(&system, &client, &proof).await).await["token_type"],
        "DPoP"
    );
}

pub(crate) async fn register_with(system: &TestSystem, proof: Option<String>) -> reqwest::Response {
    let mut request = system
        .http
        .post(system.identity_url("/agent/identity"))
        .json(&json!({ "type": "anonymous" }));
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    request.send().await.expect("identity reachable")
}

async fn exchange(system: &TestSystem, assertion: &str, proof: Option<String>) -> reqwest::Response {
    let mut request = system.http.post(system.token_url("/oauth2/token"));
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    request
        .form(&[("grant_type", JWT_BEARER), ("assertion", assertion)])
        .send()
        .await
        .expect("reachable")
}

#[tokio::test]
async fn an_assertion_bound_at_registration_is_exchanged_only_with_its_key() {
    let system = spawn().await;
    let key = ClientKey::generate("agent");
    let registration_proof = key.sign(&key.dpop_header(), &dpop_claims("POST", IDENTITY_ENDPOINT));
    let registered = register_with(&system, Some(registration_proof.clone())).await;
    assert_eq!(registered.status(), 200);
    let registered: Value = registered.json().await.expect("json");
    let assertion = registered["identity_assertion"].as_str().expect("assertion");
    assert_eq!(claims_of(assertion)["cnf"]["jkt"], key.thumbprint());

    let missing = assert_oauth_error(exchange(&system, assertion, None).await, 400, "invalid_grant").await;
    assert!(
        missing["error_description"].as_str().expect("text").contains("DPoP"),
        "{missing}"
    );
    let other = ClientKey::generate("thief").dpop_proof();
    assert_oauth_error(exchange(&system, assertion, Some(other)).await, 400, "invalid_grant").await;
    let body = assert_ok(exchange(&system, assertion, Some(key.dpop_proof())).await).await;
    assert_eq!(
        claims_of(body["access_token"].as_str().expect("token"))["cnf"]["jkt"],
        key.thumbprint()
    );
    // Refreshing the access token: the same assertion, a fresh proof of the same key.
    assert_ok(exchange(&system, assertion, Some(key.dpop_proof())).await).await;

    // The registration proof is single-use, and its htu is the identity endpoint.
    let replayed = register_with(&system, Some(registration_proof)).await;
    assert_eq!(replayed.status(), 400);
    let wrong_htu = register_with(&system, Some(key.dpop_proof())).await;
    assert_eq!(wrong_htu.status(), 400);
    let body: Value = wrong_htu.json().await.expect("json");
    assert_eq!(body["error"], "invalid_dpop_proof", "{body}");
}

#[tokio::test]
async fn a_server_that_requires_dpop_registers_no_unbound_agent() {
    let system = spawn_all(
        memory(),
        |_| {},
        |identity| identity.registration.require_dpop = true,
        |_| {},
    )
    .await;
    let unbound = register_with(&system, None).await;
    assert_eq!(unbound.status(), 400);
    let body: Value = unbound.json().await.expect("json");
    assert_eq!(body["error"], "invalid_dpop_proof", "{body}");
    let key = ClientKey::generate("agent");
    let bound = register_with(
        &system,
        Some(key.sign(&key.dpop_header(), &dpop_claims("POST", IDENTITY_ENDPOINT))),
    )
    .await;
    assert_eq!(bound.status(), 200);
    let discovery: Value = system
        .http
        .get(system.identity_url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .expect("reachable")
        .json()
        .await
        .expect("json");
    assert_eq!(discovery["agent_auth"]["dpop_required_for_registration"], true);
}
