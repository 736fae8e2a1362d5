//! Registration with a verified email: pending until the human confirms, then an
//! assertion from `claim/complete`.

use proto::identity::v1::validate_assertion_response::Outcome;
use serde_json::{Value, json};

use crate::ceremony::{complete, latest_link, mail_count, press};
use crate::helpers::{assert_agent_error, memory, spawn, spawn_with};

fn email_registration(email: &str) -> Value {
    json!({ "type": "identity_assertion", "assertion_type": "verified_email", "assertion": email })
}

#[tokio::test]
async fn an_email_registration_waits_for_its_human_then_gets_an_assertion() {
    let app = spawn().await;
    let response = app
        .post_json("/agent/identity", &email_registration("ada@example.com"))
        .await;
    assert_eq!(response.status(), 200);
    let registered: Value = response.json().await.expect("json");
    assert_eq!(registered["registration_type"], "email-verification");
    assert!(
        registered.get("identity_assertion").is_none(),
        "no assertion before the human confirms"
    );
    assert_eq!(registered["post_claim_scopes"], json!(["agent:read", "agent:write"]));
    for field in ["registration_id", "claim_url", "claim_token", "claim_token_expires"] {
        assert!(registered[field].is_string(), "{field}");
    }
    assert_eq!(mail_count(&app), 1, "the link is mailed at once");

    let (_, html) = press(&app, &latest_link(&app)).await;
    let code = crate::ceremony::code_in(&html);
    let token = registered["claim_token"].as_str().expect("claim_token");
    let done: Value = complete(&app, token, &code).await.json().await.expect("json");
    assert_eq!(done["status"], "claimed");
    let assertion = done["identity_assertion"].as_str().expect("an assertion at completion");
    humantime::parse_rfc3339(done["assertion_expires"].as_str().expect("expiry")).expect("RFC 3339");
    let Outcome::Grantable(grant) = app.validate(assertion).await else {
        panic!("claimed email registration is grantable");
    };
    assert_eq!(grant.registration_type, "email-verification");
    assert_eq!(grant.grantable_scopes, vec!["agent:read", "agent:write"]);
}

#[tokio::test]
async fn email_registration_errors() {
    let app = spawn_with(memory(), |s| s.registration.anonymous_enabled = false).await;
    for (body, status, code) in [
        (email_registration("not-an-email"), 400, "invalid_email"),
        (
            json!({ "type": "identity_assertion", "assertion": "a@example.com" }),
            400,
            "invalid_request",
        ),
        (
            json!({ "type": "identity_assertion", "assertion_type": "verified_email" }),
            400,
            "invalid_request",
        ),
        (
            json!({ "type": "identity_assertion", "assertion_type": "saml", "assertion": "x" }),
            400,
            "invalid_request",
        ),
        (json!({ "type": "anonymous" }), 403, "anonymous_not_enabled"),
    ] {
        assert_agent_error(app.post_json("/agent/identity", &body).await, status, code).await;
    }
    let off = spawn_with(memory(), |s| s.registration.verified_email_enabled = false).await;
    let response = off
        .post_json("/agent/identity", &email_registration("a@example.com"))
        .await;
    assert_agent_error(response, 403, "verified_email_not_enabled").await;
}

#[tokio::test]
async fn registrations_are_rate_limited_per_client_address() {
    let app = spawn_with(memory(), |s| {
        s.rate_limits.anonymous_registrations_per_ip.max = 2;
        s.rate_limits.assertion_registrations_per_ip.max = 1;
    })
    .await;
    app.register_anonymous().await;
    app.register_anonymous().await;
    let limited = app.post_json("/agent/identity", &json!({ "type": "anonymous" })).await;
    assert!(limited.headers().contains_key("retry-after"));
    assert_agent_error(limited, 429, "rate_limited").await;
    let email = app
        .post_json("/agent/identity", &email_registration("a@example.com"))
        .await;
    assert_eq!(email.status(), 200, "the other path counts separately");
    let again = app
        .post_json("/agent/identity", &email_registration("b@example.com"))
        .await;
    assert_agent_error(again, 429, "rate_limited").await;
}
