//! The claim ceremony end to end with a real browser: the agent registers and starts a
//! claim; the mail lands in the outbox; headless Chromium opens the link, presses the
//! button and reads the code; the agent completes the claim; the token endpoint now
//! grants the post-claim scopes.

use serde_json::{Value, json};

use crate::browser::Browser;
use crate::helpers::{DevServer, str_field};

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

pub(crate) async fn post_json(http: &reqwest::Client, url: &str, body: Value) -> Value {
    let response = http.post(url).json(&body).send().await.expect("reachable");
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert!(status.is_success(), "{url}: {status} {body}");
    body
}

pub(crate) async fn exchange(http: &reqwest::Client, base: &str, assertion: &str) -> Value {
    let response = http
        .post(format!("{base}/oauth2/token"))
        .form(&[("grant_type", JWT_BEARER), ("assertion", assertion)])
        .send()
        .await
        .expect("reachable");
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

#[tokio::test]
async fn a_human_claims_an_agent_through_a_real_browser() {
    let server = DevServer::start();
    let http = reqwest::Client::new();
    let base = &server.http;
    let registered = post_json(&http, &format!("{base}/agent/identity"), json!({"type": "anonymous"})).await;
    let assertion = str_field(&registered, "identity_assertion");
    let claim_token = str_field(&registered, "claim_token");
    assert_eq!(exchange(&http, base, assertion).await["scope"], "agent:read");

    let claim = json!({"claim_token": claim_token, "email": "ada@example.com"});
    let started = post_json(&http, &format!("{base}/agent/identity/claim"), claim).await;
    assert_eq!(started["status"], "initiated");
    let link = crate::outbox::only_claim_link(server.outbox.path());
    assert!(
        link.starts_with(&format!("{base}/agent/identity/claim/view?token=")),
        "{link}"
    );

    let browser = Browser::launch().await;
    browser.open(&link).await;
    assert!(browser.page_source().await.contains("ada@example.com"));
    browser.click("#mint").await;
    let code = browser.text("#otp").await;
    browser.close().await;
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "{code:?}");

    let completion = json!({"claim_token": claim_token, "otp": code});
    let claimed = post_json(&http, &format!("{base}/agent/identity/claim/complete"), completion).await;
    assert_eq!(claimed["status"], "claimed");
    assert_eq!(claimed["registration_id"], registered["registration_id"]);
    let token = exchange(&http, base, assertion).await;
    assert_eq!(token["scope"], "agent:read agent:write", "the claim lifted the scopes");
}
