//! The claim ceremony: starting, the human's pages, completing, and what it unlocks.

use proto::identity::v1::validate_assertion_response::Outcome;
use serde_json::Value;

use crate::ceremony::{complete, latest_link, mail_count, open, press, start, up_to_code};
use crate::helpers::{assert_agent_error, spawn};

#[tokio::test]
async fn the_ceremony_claims_the_registration_and_lifts_its_scopes() {
    let app = spawn().await;
    let registered = app.register_anonymous().await;
    let claim_token = registered["claim_token"].as_str().expect("claim_token");
    let response = start(&app, claim_token, "Ada@Example.com").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let started: Value = response.json().await.expect("json");
    assert_eq!(started["registration_id"], registered["registration_id"]);
    assert_eq!(started["status"], "initiated");
    assert!(
        started["claim_attempt_id"]
            .as_str()
            .is_some_and(|a| a.starts_with("att_"))
    );
    humantime::parse_rfc3339(started["expires_at"].as_str().expect("expires_at")).expect("RFC 3339");
    assert_eq!(mail_count(&app), 1);

    let link = latest_link(&app);
    let (status, page) = open(&app, &link).await;
    assert_eq!(status, 200);
    assert!(page.contains("Ada@example.com") && page.contains("<button"), "{page}");
    assert!(!page.contains("id=\"otp\""), "opening the link mints nothing");
    let (status, first) = press(&app, &link).await;
    assert_eq!(status, 200);
    let (_, second) = press(&app, &link).await;
    let (old, new) = (crate::ceremony::code_in(&first), crate::ceremony::code_in(&second));
    assert!(new.bytes().all(|b| b.is_ascii_digit()));

    if old != new {
        let stale = complete(&app, claim_token, &old).await;
        assert_agent_error(stale, 401, "otp_invalid").await;
    }
    let done = complete(&app, claim_token, &new).await;
    assert_eq!(done.status(), 200);
    let body: Value = done.json().await.expect("json");
    assert_eq!(body["status"], "claimed");
    assert_eq!(body["registration_id"], registered["registration_id"]);
    assert!(
        body.get("identity_assertion").is_none(),
        "anonymous agents keep their assertion"
    );

    let Outcome::Grantable(grant) = app
        .validate(registered["identity_assertion"].as_str().expect("a"))
        .await
    else {
        panic!("claimed registration is grantable");
    };
    assert_eq!(grant.grantable_scopes, vec!["agent:read", "agent:write"]);
}

#[tokio::test]
async fn restarting_with_the_same_email_reuses_the_attempt_and_sends_nothing() {
    let app = spawn().await;
    let registered = app.register_anonymous().await;
    let claim_token = registered["claim_token"].as_str().expect("claim_token");
    let first: Value = start(&app, claim_token, "a@example.com")
        .await
        .json()
        .await
        .expect("json");
    let again: Value = start(&app, claim_token, "A@EXAMPLE.COM")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(first["claim_attempt_id"], again["claim_attempt_id"]);
    assert_eq!(mail_count(&app), 1);

    let old_link = latest_link(&app);
    let other: Value = start(&app, claim_token, "b@example.com")
        .await
        .json()
        .await
        .expect("json");
    assert_ne!(first["claim_attempt_id"], other["claim_attempt_id"]);
    assert_eq!(mail_count(&app), 2);
    let (status, page) = open(&app, &old_link).await;
    assert_eq!(status, 400, "the old link is dead: {page}");
    assert!(page.contains("not valid"));
    let (status, _) = open(&app, &latest_link(&app)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn start_errors() {
    let app = spawn().await;
    let registered = app.register_anonymous().await;
    let claim_token = registered["claim_token"].as_str().expect("claim_token");
    let id = registered["registration_id"].as_str().expect("id");
    for token in ["garbage".to_owned(), format!("{id}.{}", "x".repeat(43))] {
        assert_agent_error(start(&app, &token, "a@example.com").await, 401, "invalid_claim_token").await;
    }
    assert_agent_error(start(&app, claim_token, "not-an-email").await, 400, "invalid_email").await;
    let missing = app
        .post_json(
            "/agent/identity/claim",
            &serde_json::json!({ "claim_token": claim_token }),
        )
        .await;
    assert_agent_error(missing, 400, "invalid_request").await;
    let form = app
        .http
        .post(app.url("/agent/identity/claim"))
        .form(&[("claim_token", claim_token), ("email", "a@example.com")])
        .send()
        .await
        .expect("reachable");
    assert_agent_error(form, 400, "invalid_request").await;

    // A human holds a live code for one address: another address cannot take over.
    let (claimed, code) = up_to_code(&app, "owner@example.com").await;
    let token = claimed["claim_token"].as_str().expect("token");
    assert_agent_error(
        start(&app, token, "intruder@example.com").await,
        409,
        "claimed_or_in_flight",
    )
    .await;
    assert_eq!(complete(&app, token, &code).await.status(), 200);
    assert_agent_error(
        start(&app, token, "owner@example.com").await,
        409,
        "claimed_or_in_flight",
    )
    .await;
}

#[tokio::test]
async fn an_unsendable_link_is_a_503_and_leaves_no_attempt_behind() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let app = crate::helpers::spawn_with(crate::helpers::memory(), |s| {
        s.mail.backend = identity_service::mail::MailBackend::Smtp;
        s.mail.smtp.host = closed.ip().to_string();
        s.mail.smtp.port = closed.port();
        s.mail.smtp.security = identity_service::mail::SmtpSecurity::None;
    })
    .await;
    let registered = app.register_anonymous().await;
    let claim_token = registered["claim_token"].as_str().expect("claim_token");
    let failed = start(&app, claim_token, "a@example.com").await;
    assert_eq!(failed.headers()["retry-after"], "5");
    assert_agent_error(failed, 503, "temporarily_unavailable").await;
    // The attempt was withdrawn: the registration is not "in flight" for a link nobody got.
    let outcome = app
        .validate(registered["identity_assertion"].as_str().expect("a"))
        .await;
    let proto::identity::v1::validate_assertion_response::Outcome::Grantable(grant) = outcome else {
        panic!("still grantable");
    };
    assert_eq!(grant.status, proto::identity::v1::RegistrationStatus::Unclaimed as i32);
}

#[tokio::test]
async fn the_pages_refuse_bad_links_in_html() {
    let app = spawn().await;
    for query in [
        "",
        "?token=garbage",
        "?token=reg_00000000000000000000000000000000.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    ] {
        let (status, page) = open(&app, &app.url(&format!("/agent/identity/claim/view{query}"))).await;
        assert_eq!(status, 400);
        assert!(
            page.starts_with("<!doctype html>") && page.contains("not valid"),
            "{page}"
        );
    }
    let response = app
        .http
        .get(app.url("/agent/identity/claim/view?token=x"))
        .send()
        .await
        .expect("reachable");
    let headers = response.headers();
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .expect("ascii")
            .contains("default-src 'none'")
    );
    let (status, _) = press(&app, &app.url("/agent/identity/claim/view?token=garbage")).await;
    assert_eq!(status, 400);
}
