//! `/agent/account`: the human's own page. They see the agents they claimed and the
//! clients they allowed, revoke either, and the revoked tokens stop working at once:
//! introspection says inactive and refresh tokens are refused.

use serde_json::json;

use crate::helpers::{JWT_BEARER, TestSystem, assert_oauth_error, assert_ok};
use crate::human::{
    Authorization, Browser, EMAIL, active, authorize_fully, csrf, latest_code, public_client, redeem, spawn_mcp,
};

/// An anonymous agent claimed by `email` through the ceremony; (registration id, token).
async fn claimed_agent(system: &TestSystem, email: &str) -> (String, String) {
    let (id, token, _) = claimed_agent_with_assertion(system, email).await;
    (id, token)
}

/// [`claimed_agent`], with its identity assertion.
pub(crate) async fn claimed_agent_with_assertion(system: &TestSystem, email: &str) -> (String, String, String) {
    let registered = system.register_anonymous().await;
    let id = registered["registration_id"].as_str().expect("id").to_owned();
    let claim_token = registered["claim_token"].as_str().expect("claim token").to_owned();
    let started = system
        .http
        .post(system.identity_url("/agent/identity/claim"))
        .json(&json!({ "claim_token": claim_token, "email": email }))
        .send()
        .await
        .expect("reachable");
    assert_eq!(started.status(), 200);
    let message = newest_message(system);
    let token = message
        .split("token=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the claim link")
        .to_owned();
    let page = system
        .http
        .post(system.identity_url("/agent/identity/claim/attempt/challenge"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .expect("reachable")
        .text()
        .await
        .expect("page");
    let at = page.find("id=\"otp\">").expect("the code") + "id=\"otp\">".len();
    let completed = system
        .http
        .post(system.identity_url("/agent/identity/claim/complete"))
        .json(&json!({ "claim_token": claim_token, "otp": &page[at..at + 6] }))
        .send()
        .await
        .expect("reachable");
    assert_eq!(completed.status(), 200);
    let assertion = registered["identity_assertion"].as_str().expect("assertion");
    let body = assert_ok(
        system
            .post_form("/oauth2/token", &[("grant_type", JWT_BEARER), ("assertion", assertion)])
            .await,
    )
    .await;
    let token = body["access_token"].as_str().expect("token").to_owned();
    (id, token, assertion.to_owned())
}

fn newest_message(system: &TestSystem) -> String {
    let mut paths: Vec<_> = std::fs::read_dir(system.outbox.path())
        .expect("outbox")
        .map(|e| e.expect("entry").path())
        .collect();
    paths.sort();
    let raw = std::fs::read_to_string(paths.last().expect("a message")).expect("readable");
    raw.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=")
}

async fn revoke(browser: &mut Browser, page: &str, kind: &str, id: &str) -> reqwest::Response {
    let token = csrf(page);
    browser
        .post(
            "/agent/account/revoke",
            &[("csrf", token.as_str()), ("kind", kind), ("id", id)],
        )
        .await
}

async fn account_page(browser: &mut Browser) -> String {
    let response = browser.get("/agent/account").await;
    assert_eq!(response.status(), 200);
    response.text().await.expect("page")
}

#[tokio::test]
async fn a_human_sees_and_revokes_their_agents_and_clients_and_the_tokens_die() {
    let system = spawn_mcp().await;
    let resource_server = system.create_client(&["agent:read"]).await;
    let (registration_id, agent_token) = claimed_agent(&system, EMAIL).await;
    let client_id = public_client(&system, "Inspector").await;
    let mut browser = Browser::new(&system);
    let authorization = Authorization::new(&client_id);
    let code = authorize_fully(&system, &mut browser, &authorization).await;
    let tokens = assert_ok(redeem(&system, &authorization, &code, &authorization.verifier).await).await;
    let access = tokens["access_token"].as_str().expect("token").to_owned();
    let refresh = tokens["refresh_token"].as_str().expect("refresh").to_owned();
    assert!(active(&system, &resource_server, &agent_token).await);
    assert!(active(&system, &resource_server, &access).await);

    // Signed in at the authorization endpoint: the same session opens the account.
    let page = account_page(&mut browser).await;
    assert!(page.contains(&registration_id), "the claimed agent is listed");
    assert!(page.contains("Inspector"), "the allowed client is listed");
    let grant_id = crate::helpers::claims_of(&access)["grant_id"]
        .as_str()
        .expect("grant")
        .to_owned();

    let back = revoke(&mut browser, &page, "grant", &grant_id).await;
    assert_eq!(back.status(), 303);
    assert!(
        !active(&system, &resource_server, &access).await,
        "the client's access token"
    );
    let refused = system
        .post_form(
            "/oauth2/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("client_id", &client_id),
            ],
        )
        .await;
    assert_oauth_error(refused, 400, "invalid_grant").await;

    let page = account_page(&mut browser).await;
    let back = revoke(&mut browser, &page, "registration", &registration_id).await;
    assert_eq!(back.status(), 303);
    assert!(
        !active(&system, &resource_server, &agent_token).await,
        "the agent's token"
    );
    let page = account_page(&mut browser).await;
    assert_eq!(page.matches("<td class=\"status\">revoked</td>").count(), 2, "{page}");
}

#[tokio::test]
async fn a_human_signs_in_at_the_account_page_and_cannot_revoke_what_is_not_theirs() {
    let system = spawn_mcp().await;
    let resource_server = system.create_client(&["agent:read"]).await;
    let (theirs, agent_token) = claimed_agent(&system, "grace@example.com").await;

    let mut browser = Browser::new(&system);
    let form = account_page(&mut browser).await;
    assert!(form.contains("/agent/account/login"), "signed out: the sign-in form");
    let sent = browser
        .post("/agent/account/login", &[("csrf", &csrf(&form)), ("email", EMAIL)])
        .await;
    assert_eq!(sent.status(), 200);
    let page = sent.text().await.expect("page");
    let code = latest_code(system.outbox.path());
    let signed_in = browser
        .post("/agent/account/verify", &[("csrf", &csrf(&page)), ("code", &code)])
        .await;
    assert_eq!(signed_in.status(), 303);
    let page = account_page(&mut browser).await;
    assert!(page.contains(EMAIL) && !page.contains(&theirs), "only their own agents");

    let refused = revoke(&mut browser, &page, "registration", &theirs).await;
    assert_eq!(refused.status(), 400);
    assert!(
        active(&system, &resource_server, &agent_token).await,
        "someone else's agent stands"
    );
    let forged = browser
        .post(
            "/agent/account/revoke",
            &[("csrf", "forged"), ("kind", "registration"), ("id", theirs.as_str())],
        )
        .await;
    assert_eq!(forged.status(), 403);

    let logout = browser.post("/agent/account/logout", &[("csrf", &csrf(&page))]).await;
    assert_eq!(logout.status(), 303);
    let after = account_page(&mut browser).await;
    assert!(after.contains("/agent/account/login"), "signed out again");
}
