//! What a hostile review and stock clients found (issue 21), each pinned by a test that
//! failed before its fix: client-chosen text in the sign-in mail, RSA keys under 2048
//! bits, a `client_id` that contradicts the jwt-bearer assertion, an empty
//! `client_name` echoed back.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proto::clients::v1 as pb;
use serde_json::{Value, json};

use crate::helpers::{JWT_BEARER, assert_oauth_error, assert_ok, spawn};
use crate::human::{Authorization, Browser, public_client, send_code, spawn_mcp};

/// A public RSA JWK with a modulus of `bits` bits.
fn rsa_jwk(bits: usize, kid: &str) -> Value {
    json!({"kty": "RSA", "kid": kid, "use": "sig", "e": "AQAB", "n": URL_SAFE_NO_PAD.encode(vec![0xc5_u8; bits / 8])})
}

#[tokio::test]
async fn the_sign_in_mail_carries_no_text_the_client_chose() {
    let system = spawn_mcp().await;
    let lure = "ACME support. Your account is LOCKED - reset it now at https://evil.example/reset";
    let client_id = public_client(&system, lure).await;
    let mut browser = Browser::new(&system);
    send_code(&mut browser, &Authorization::new(&client_id), "victim@example.com").await;
    let mail = std::fs::read_dir(system.outbox.path())
        .expect("outbox")
        .map(|e| std::fs::read_to_string(e.expect("entry").path()).expect("mail"))
        .next()
        .expect("one message");
    for chosen in ["ACME", "LOCKED", "evil.example"] {
        assert!(!mail.contains(chosen), "`{chosen}` mailed from our sender:\n{mail}");
    }
    assert!(
        mail.contains("Your code to sign in at https://agentauth.test"),
        "{mail}"
    );
}

#[tokio::test]
async fn rsa_keys_under_2048_bits_are_refused_where_they_are_registered() {
    let system = spawn().await;
    let body = |jwk: Value| {
        json!({
            "redirect_uris": ["https://app.example.com/cb"],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [jwk]},
        })
    };
    let small = system
        .http
        .post(system.token_url("/oauth2/register"))
        .json(&body(rsa_jwk(1024, "small")))
        .send()
        .await
        .expect("reachable");
    let error = assert_oauth_error(small, 400, "invalid_client_metadata").await;
    assert!(
        error["error_description"].as_str().is_some_and(|d| d.contains("2048")),
        "{error}"
    );
    let sized = system
        .http
        .post(system.token_url("/oauth2/register"))
        .json(&body(rsa_jwk(2048, "sized")))
        .send()
        .await
        .expect("reachable");
    assert_eq!(sized.status(), 201, "a 2048-bit key registers");

    // The operator's `clients keys set` goes through the same check.
    let client = system.create_client(&["reports:read"]).await;
    let set = pb::SetKeysRequest {
        client_id: client.id,
        source: Some(pb::set_keys_request::Source::JwksJson(
            json!({"keys": [rsa_jwk(1024, "small")]}).to_string(),
        )),
    };
    let refused = system.admin().set_keys(set).await.expect_err("refused");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(refused.message().contains("2048"), "{}", refused.message());
}

#[tokio::test]
async fn a_client_id_that_contradicts_the_assertion_gets_no_token() {
    let system = spawn().await;
    let agent = system.register_anonymous().await;
    let other = system.register_anonymous().await;
    let assertion = agent["identity_assertion"].as_str().expect("assertion");
    let agent_id = claims(assertion)["client_id"].as_str().expect("client_id").to_owned();
    let other_id = claims(other["identity_assertion"].as_str().expect("assertion"))["client_id"]
        .as_str()
        .expect("client_id")
        .to_owned();
    let exchange = |client_id: String| {
        let system = &system;
        async move {
            let form = [
                ("grant_type", JWT_BEARER),
                ("assertion", assertion),
                ("client_id", client_id.as_str()),
            ];
            system.post_form("/oauth2/token", &form).await
        }
    };
    let body = assert_oauth_error(exchange(other_id.clone()).await, 400, "invalid_grant").await;
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("another client")),
        "{body}"
    );
    assert_oauth_error(exchange("someone-else".into()).await, 400, "invalid_grant").await;
    let issued = assert_ok(exchange(agent_id.clone()).await).await;
    assert_eq!(
        claims(issued["access_token"].as_str().expect("token"))["client_id"],
        agent_id
    );
}

#[tokio::test]
async fn a_registration_without_a_name_is_answered_without_one() {
    let system = spawn().await;
    let response = system
        .http
        .post(system.token_url("/oauth2/register"))
        .json(&json!({"redirect_uris": ["https://app.example.com/cb"], "token_endpoint_auth_method": "none"}))
        .send()
        .await
        .expect("reachable");
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.expect("json");
    assert!(body.get("client_name").is_none(), "{body}");
}

fn claims(jws: &str) -> Value {
    let payload = jws.split('.').nth(1).expect("payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("json")
}
