//! Delegation of a human's grant: the human ticks "may hand this on" on the consent
//! page, and the client they allowed (a confidential one, `private_key_jwt`) exchanges
//! their token for a sub-agent. Only the client holding the token may; the sub-agent
//! cannot help itself to it. Revoking the grant ends the whole chain.

use serde_json::{Value, json};
use shared::testing::RedisServer;

use crate::helpers::{TestSystem, assert_oauth_error, assert_ok, claims_of};
use crate::human::{
    Authorization, Browser, EMAIL, REDIRECT, RESOURCE, csrf, redirect_params, revoke_kind_on_account,
    revoke_on_account, sign_in, spawn_mcp_on,
};
use crate::proofs::ClientKey;

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An orchestrator registered for the code flow with its own key (RFC 7591).
pub(crate) async fn orchestrator(system: &TestSystem, name: &str) -> (String, ClientKey) {
    let key = ClientKey::generate(name);
    let body = json!({
        "client_name": name,
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code"],
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": serde_json::from_str::<Value>(&key.jwks()).expect("jwks"),
        "scope": "agent:read agent:write",
    });
    let response = system.register_client(&body.to_string(), None).await;
    assert_eq!(response.status(), 201);
    let registered: Value = response.json().await.expect("json");
    (registered["client_id"].as_str().expect("id").to_owned(), key)
}

/// The human signs in, consents (ticking "may hand this on" when `delegate`), and the
/// orchestrator redeems the code: the human's token.
async fn human_token(
    system: &TestSystem,
    browser: &mut Browser,
    client: &(String, ClientKey),
    delegate: bool,
) -> String {
    let answer: &[(&str, &str)] = if delegate { &[("delegate", "yes")] } else { &[] };
    human_token_with(system, browser, (client, "agent:read"), answer).await
}

/// [`human_token`] for `scope`, the consent form answered with `answer` too.
pub(crate) async fn human_token_with(
    system: &TestSystem,
    browser: &mut Browser,
    (client, scope): (&(String, ClientKey), &str),
    answer: &[(&str, &str)],
) -> String {
    let authorization = Authorization::with(&client.0, &[("scope", scope)]);
    let consent = sign_in(system, browser, &authorization, EMAIL).await;
    assert_eq!(consent.status(), 200);
    let page = consent.text().await.expect("page");
    assert!(page.contains("id=\"delegate\""), "the consent page offers delegation");
    assert!(
        page.contains("name=\"delegate_scope\" value=\"agent:read\" checked"),
        "and each scope, ticked"
    );
    let token = csrf(&page);
    let mut form = vec![
        ("request", authorization.query.as_str()),
        ("csrf", token.as_str()),
        ("decision", "allow"),
    ];
    form.extend_from_slice(answer);
    let back = browser.post("/oauth2/authorize/consent", &form).await;
    let code = redirect_params(&back)["code"].clone();
    let assertion = client.1.client_assertion(&client.0);
    let redeemed = system
        .post_form(
            "/oauth2/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", &authorization.verifier),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", &assertion),
            ],
        )
        .await;
    assert_ok(redeemed).await["access_token"]
        .as_str()
        .expect("token")
        .to_owned()
}

/// The orchestrator exchanges `subject` for the party of `actor`.
async fn hand_on(system: &TestSystem, client: &(String, ClientKey), subject: &str, actor: &str) -> reqwest::Response {
    hand_on_with(system, client, (subject, actor), &[]).await
}

/// [`hand_on`], with `extra` parameters (`scope`, say).
pub(crate) async fn hand_on_with(
    system: &TestSystem,
    client: &(String, ClientKey),
    (subject, actor): (&str, &str),
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let assertion = client.1.client_assertion(&client.0);
    let mut form = vec![
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token", subject),
        ("subject_token_type", ACCESS_TOKEN),
        ("actor_token", actor),
        ("actor_token_type", ACCESS_TOKEN),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", &assertion),
    ];
    form.extend_from_slice(extra);
    system.post_form("/oauth2/token", &form).await
}

/// A system on `redis`, an orchestrator a human can allow, and a sub-agent with its
/// own token.
struct Parties {
    system: TestSystem,
    orchestrator: (String, ClientKey),
    sub_agent: crate::helpers::TestClient,
    sub_agent_own: String,
}

async fn parties(redis: &RedisServer) -> Parties {
    let system = spawn_mcp_on(redis.store_settings()).await;
    let orchestrator = orchestrator(&system, "orchestrator").await;
    let sub_agent = system.create_client(&["agent:read"]).await;
    let sub_agent_own = assert_ok(system.client_credentials(&sub_agent, &[]).await).await["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    Parties {
        system,
        orchestrator,
        sub_agent,
        sub_agent_own,
    }
}

#[tokio::test]
async fn a_human_lets_the_client_hand_their_grant_on_and_revoking_it_ends_the_chain() {
    let redis = RedisServer::start();
    let Parties {
        system,
        orchestrator: allowed,
        sub_agent,
        sub_agent_own,
    } = parties(&redis).await;

    let mut browser = Browser::new(&system);
    let human = human_token(&system, &mut browser, &allowed, true).await;
    let human_claims = claims_of(&human);
    // The sub-agent cannot help itself to the human's token, even acting for itself.
    let itself = system
        .http
        .post(system.token_url("/oauth2/token"))
        .basic_auth(&sub_agent.id, Some(&sub_agent.secret))
        .form(&[
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", human.as_str()),
            ("subject_token_type", ACCESS_TOKEN),
        ])
        .send()
        .await
        .expect("reachable");
    assert_oauth_error(itself, 400, "invalid_grant").await;
    // The client the human allowed hands it on.
    let body = assert_ok(hand_on(&system, &allowed, &human, &sub_agent_own).await).await;
    let delegated = body["access_token"].as_str().expect("token").to_owned();
    let claims = claims_of(&delegated);
    println!("the human's token, handed on: {claims}");
    assert_eq!(claims["sub"], human_claims["sub"], "still the human's");
    assert_eq!(claims["act"], json!({ "sub": sub_agent.id, "client_id": sub_agent.id }));
    assert_eq!(claims["grant_id"], human_claims["grant_id"]);
    assert_eq!(claims["aud"], RESOURCE, "the human's resource, when none is asked");
    assert_eq!(body["scope"], "agent:read", "the human's scopes ∩ the sub-agent's");
    assert_eq!(system.introspect(&sub_agent, &delegated).await["active"], true);
    let page = browser.get("/agent/account").await.text().await.expect("page");
    assert!(page.contains("may hand this on"), "{page}");

    // The human revokes the grant: their token and the one handed on both end.
    let grant_id = human_claims["grant_id"].as_str().expect("grant").to_owned();
    revoke_on_account(&mut browser, &page, &grant_id).await;
    for token in [&human, &delegated] {
        assert_eq!(system.introspect(&sub_agent, token).await, json!({ "active": false }));
    }
}

#[tokio::test]
async fn without_the_humans_leave_the_client_cannot_hand_their_grant_on() {
    let redis = RedisServer::start();
    let Parties {
        system,
        orchestrator: client,
        sub_agent,
        sub_agent_own,
    } = parties(&redis).await;
    let mut browser = Browser::new(&system);
    let human = human_token(&system, &mut browser, &client, false).await;
    let refused: Value = assert_oauth_error(
        hand_on(&system, &client, &human, &sub_agent_own).await,
        400,
        "invalid_grant",
    )
    .await;
    println!("not allowed: {refused}");
    assert_eq!(
        system.introspect(&sub_agent, &human).await["active"],
        true,
        "nothing spent"
    );
}

/// The row of the account page's delegation table for `jti`.
fn delegation_row<'a>(page: &'a str, jti: &str) -> &'a str {
    let start = page.find(&format!("<tr id=\"delegation-{jti}\">")).expect("listed");
    let row = &page[start..];
    &row[..row.find("</tr>").expect("row ends")]
}

#[tokio::test]
async fn the_account_page_lists_what_was_handed_on_and_revokes_one_delegation() {
    let redis = RedisServer::start();
    let Parties {
        system,
        orchestrator: allowed,
        sub_agent,
        sub_agent_own,
    } = parties(&redis).await;
    let mut browser = Browser::new(&system);
    let human = human_token(&system, &mut browser, &allowed, true).await;
    let page = browser.get("/agent/account").await.text().await.expect("page");
    assert!(page.contains("id=\"no-delegations\""), "nothing handed on yet");

    // The orchestrator hands the human's token on; the sub-agent, now its holder,
    // hands it on again to a second client.
    let first = assert_ok(hand_on(&system, &allowed, &human, &sub_agent_own).await).await;
    let first = first["access_token"].as_str().expect("token").to_owned();
    let second_agent = system.create_client(&["agent:read"]).await;
    let second_own = assert_ok(system.client_credentials(&second_agent, &[]).await).await["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let second = system
        .http
        .post(system.token_url("/oauth2/token"))
        .basic_auth(&sub_agent.id, Some(&sub_agent.secret))
        .form(&[
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", first.as_str()),
            ("subject_token_type", ACCESS_TOKEN),
            ("actor_token", second_own.as_str()),
            ("actor_token_type", ACCESS_TOKEN),
        ])
        .send()
        .await
        .expect("reachable");
    let second = assert_ok(second).await["access_token"]
        .as_str()
        .expect("token")
        .to_owned();

    let page = browser.get("/agent/account").await.text().await.expect("page");
    let (first_jti, second_jti) = (claims_of(&first)["jti"].clone(), claims_of(&second)["jti"].clone());
    let (first_jti, second_jti) = (first_jti.as_str().expect("jti"), second_jti.as_str().expect("jti"));
    let row = delegation_row(&page, first_jti);
    println!("handed on: {row}");
    for shown in [
        "You, through orchestrator",
        &sub_agent.id,
        RESOURCE,
        "agent:read",
        "active",
    ] {
        assert!(row.contains(shown), "{shown} in {row}");
    }
    let row = delegation_row(&page, second_jti);
    assert!(
        row.contains(&format!(
            "<code>{}</code> <span class=\"through\">through <code>{}</code>",
            second_agent.id, sub_agent.id
        )),
        "{row}"
    );

    // Not one of the human's: nothing is revoked.
    let stranger = revoke_kind_on_account(&mut browser, &page, "delegation", "not-a-delegation").await;
    assert_eq!(stranger.status(), 400);
    // The human revokes the first hand-on: it and what came from it end; their own
    // token and grant stand.
    let back = revoke_kind_on_account(&mut browser, &page, "delegation", first_jti).await;
    assert_eq!(back.status(), 303);
    for token in [&first, &second] {
        assert_eq!(system.introspect(&sub_agent, token).await, json!({ "active": false }));
    }
    assert_eq!(system.introspect(&sub_agent, &human).await["active"], true);
    let page = browser.get("/agent/account").await.text().await.expect("page");
    for jti in [first_jti, second_jti] {
        assert!(delegation_row(&page, jti).contains("ended"), "{page}");
    }
}
