//! Driving the claim ceremony over HTTP as the agent (JSON) and the human (the mailed
//! link, the page's button) would.

use reqwest::Response;
use serde_json::{Value, json};

use crate::helpers::{ISSUER, TestApp};
use crate::outbox;

pub async fn start(app: &TestApp, claim_token: &str, email: &str) -> Response {
    app.post_json(
        "/agent/identity/claim",
        &json!({ "claim_token": claim_token, "email": email }),
    )
    .await
}

pub async fn complete(app: &TestApp, claim_token: &str, otp: &str) -> Response {
    app.post_json(
        "/agent/identity/claim/complete",
        &json!({ "claim_token": claim_token, "otp": otp }),
    )
    .await
}

/// The newest claim link in the outbox, pointed at this test's listener.
pub fn latest_link(app: &TestApp) -> String {
    let messages = outbox::messages(app.outbox.path());
    let link = outbox::claim_link(messages.last().expect("a mail in the outbox"));
    let path = link.strip_prefix(ISSUER).expect("link under the issuer");
    app.url(path)
}

pub fn mail_count(app: &TestApp) -> usize {
    outbox::messages(app.outbox.path()).len()
}

/// GETs the link page: (status, html).
pub async fn open(app: &TestApp, link: &str) -> (u16, String) {
    let response = app.http.get(link).send().await.expect("reachable");
    let status = response.status().as_u16();
    (status, response.text().await.expect("html"))
}

/// Presses the page's button: POSTs its form; (status, html).
pub async fn press(app: &TestApp, link: &str) -> (u16, String) {
    let token = link.split("token=").nth(1).expect("token in link");
    let response = app
        .http
        .post(app.url("/agent/identity/claim/attempt/challenge"))
        .form(&[("token", token)])
        .send()
        .await
        .expect("reachable");
    let status = response.status().as_u16();
    (status, response.text().await.expect("html"))
}

/// The code shown on the page after a press.
pub fn code_in(html: &str) -> String {
    let start = html.find("id=\"otp\">").expect("code on the page") + "id=\"otp\">".len();
    html[start..start + 6].to_owned()
}

/// Registration → claim started → link opened → code minted: (registration, code).
pub async fn up_to_code(app: &TestApp, email: &str) -> (Value, String) {
    let registered = app.register_anonymous().await;
    let claim_token = registered["claim_token"].as_str().expect("claim_token");
    assert_eq!(start(app, claim_token, email).await.status(), 200);
    let (status, html) = press(app, &latest_link(app)).await;
    assert_eq!(status, 200, "{html}");
    (registered, code_in(&html))
}
