//! What a subject lets be handed on: a human chooses the scopes on the consent page and
//! changes them on `/agent/account`; an agent hands on its own access by its identity
//! assertion (before its claim, its pre-claim scopes; once claimed, what its owner
//! allows on `/agent/account`).

use serde_json::{Value, json};
use shared::testing::RedisServer;

use crate::account::claimed_agent_with_assertion;
use crate::delegation_human::{hand_on_with, human_token_with, orchestrator};
use crate::helpers::{TestClient, TestSystem, assert_oauth_error, assert_ok, claims_of};
use crate::human::{Browser, EMAIL, csrf, latest_code, revoke_kind_on_account, spawn_mcp_on};

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";

/// A client that may hold read and write, with its own token: the actor.
async fn actor(system: &TestSystem) -> (TestClient, String) {
    let actor = system.create_client(&["agent:read", "agent:write"]).await;
    let own = assert_ok(system.client_credentials(&actor, &[]).await).await["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    (actor, own)
}

/// An agent hands on its own access, with no client credentials: `subject` is its
/// identity assertion (`JWT`) or its access token.
async fn agent_hands_on(
    system: &TestSystem,
    (subject, kind): (&str, &str),
    actor_own: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token", subject),
        ("subject_token_type", kind),
        ("actor_token", actor_own),
        ("actor_token_type", ACCESS_TOKEN),
    ];
    form.extend_from_slice(extra);
    system.post_form("/oauth2/token", &form).await
}

/// Signs `browser` in at `/agent/account` with an emailed code.
async fn sign_in_to_account(system: &TestSystem, browser: &mut Browser, email: &str) -> String {
    let page = browser.get("/agent/account").await.text().await.expect("page");
    let sent = browser
        .post(
            "/agent/account/login",
            &[("csrf", csrf(&page).as_str()), ("email", email)],
        )
        .await;
    assert_eq!(sent.status(), 200);
    let code = latest_code(system.outbox.path());
    let page_csrf = csrf(&sent.text().await.expect("page"));
    let verified = browser
        .post(
            "/agent/account/verify",
            &[("csrf", page_csrf.as_str()), ("code", &code)],
        )
        .await;
    assert_eq!(verified.status(), 303);
    browser.get("/agent/account").await.text().await.expect("page")
}

/// The account page's hand-on form for `kind` `id`, answered with `scopes` ticked.
async fn set_hand_on(browser: &mut Browser, page: &str, (kind, id): (&str, &str), scopes: &[&str]) {
    let token = csrf(page);
    let mut form = vec![("csrf", token.as_str()), ("kind", kind), ("id", id)];
    form.extend(scopes.iter().map(|s| ("scope", *s)));
    let back = browser.post("/agent/account/hand-on", &form).await;
    assert_eq!(back.status(), 303, "the account page takes the answer");
}

#[tokio::test]
async fn an_unclaimed_agent_hands_on_no_more_than_its_pre_claim_scopes_by_its_assertion() {
    let redis = RedisServer::start();
    let system = spawn_mcp_on(redis.store_settings()).await;
    let (actor, actor_own) = actor(&system).await;
    let registered = system.register_anonymous().await;
    let registration = registered["registration_id"].as_str().expect("id");
    let assertion = registered["identity_assertion"].as_str().expect("assertion");

    let body = assert_ok(agent_hands_on(&system, (assertion, JWT), &actor_own, &[]).await).await;
    let delegated = body["access_token"].as_str().expect("token").to_owned();
    let claims = claims_of(&delegated);
    println!("an unclaimed agent's access, handed on: {claims}");
    assert_eq!(claims["sub"], registration);
    assert_eq!(claims["act"], json!({ "sub": actor.id, "client_id": actor.id }));
    assert_eq!(
        body["scope"], "agent:read",
        "its pre-claim scope, though the actor holds more"
    );
    assert_eq!(system.introspect(&actor, &delegated).await["active"], true);

    // More than its pre-claim scopes: refused.
    let wider = agent_hands_on(&system, (assertion, JWT), &actor_own, &[("scope", "agent:write")]).await;
    assert_oauth_error(wider, 400, "invalid_scope").await;
    // Without naming the actor: refused.
    let no_actor = system
        .post_form(
            "/oauth2/token",
            &[
                ("grant_type", TOKEN_EXCHANGE),
                ("subject_token", assertion),
                ("subject_token_type", JWT),
            ],
        )
        .await;
    assert_oauth_error(no_actor, 400, "invalid_request").await;
    // Its bearer access token, unbound, is no proof of who asks: authenticate.
    let access = assert_ok(
        system
            .post_form(
                "/oauth2/token",
                &[("grant_type", crate::helpers::JWT_BEARER), ("assertion", assertion)],
            )
            .await,
    )
    .await["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let unproven = agent_hands_on(&system, (&access, ACCESS_TOKEN), &actor_own, &[]).await;
    let refused: Value = assert_oauth_error(unproven, 401, "invalid_client").await;
    println!("an unbound agent token without credentials: {refused}");
}

#[tokio::test]
async fn a_claimed_agent_hands_on_only_what_its_owner_allows_on_the_account_page() {
    let redis = RedisServer::start();
    let system = spawn_mcp_on(redis.store_settings()).await;
    let (actor, actor_own) = actor(&system).await;
    let (registration, _, assertion) = claimed_agent_with_assertion(&system, EMAIL).await;
    let handing_on =
        |extra: &'static [(&'static str, &'static str)]| agent_hands_on(&system, (&assertion, JWT), &actor_own, extra);

    // Claimed, it hands on nothing until its owner says so.
    assert_oauth_error(handing_on(&[]).await, 400, "invalid_grant").await;
    let mut browser = Browser::new(&system);
    let page = sign_in_to_account(&system, &mut browser, EMAIL).await;
    assert!(page.contains(&format!("id=\"hand-on-{registration}\"")), "{page}");
    set_hand_on(&mut browser, &page, ("registration", &registration), &["agent:read"]).await;

    let body = assert_ok(handing_on(&[]).await).await;
    assert_eq!(body["scope"], "agent:read", "what the owner allowed of read and write");
    let delegated = body["access_token"].as_str().expect("token").to_owned();
    assert_oauth_error(handing_on(&[("scope", "agent:write")]).await, 400, "invalid_scope").await;

    // The owner sees it under the agent, and revokes it.
    let page = browser.get("/agent/account").await.text().await.expect("page");
    let jti = claims_of(&delegated)["jti"].as_str().expect("jti").to_owned();
    let row = &page[page.find(&format!("id=\"delegation-{jti}\"")).expect("listed")..];
    assert!(
        row.starts_with(&format!("id=\"delegation-{jti}\"><td><code>{registration}</code>")),
        "{row}"
    );
    let back = revoke_kind_on_account(&mut browser, &page, "delegation", &jti).await;
    assert_eq!(back.status(), 303);
    assert_eq!(system.introspect(&actor, &delegated).await, json!({ "active": false }));

    // Nothing ticked: nothing may be handed on any more.
    let page = browser.get("/agent/account").await.text().await.expect("page");
    set_hand_on(&mut browser, &page, ("registration", &registration), &[]).await;
    assert_oauth_error(handing_on(&[]).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn a_human_chooses_which_scopes_the_client_may_hand_on_and_changes_it_later() {
    let redis = RedisServer::start();
    let system = spawn_mcp_on(redis.store_settings()).await;
    let client = orchestrator(&system, "orchestrator").await;
    let (_, actor_own) = actor(&system).await;
    let mut browser = Browser::new(&system);
    // The consent page offers each scope; the human ticks read only.
    let answer = [
        ("delegate", "yes"),
        ("delegate_scopes_offered", "yes"),
        ("delegate_scope", "agent:read"),
    ];
    let human = human_token_with(&system, &mut browser, (&client, "agent:read agent:write"), &answer).await;
    assert_eq!(claims_of(&human)["scope"], "agent:read agent:write");

    let body = assert_ok(hand_on_with(&system, &client, (&human, &actor_own), &[]).await).await;
    assert_eq!(
        body["scope"], "agent:read",
        "only what the human chose to let be handed on"
    );
    let wider = hand_on_with(&system, &client, (&human, &actor_own), &[("scope", "agent:write")]).await;
    assert_oauth_error(wider, 400, "invalid_scope").await;

    // On the account page the human takes it back to nothing.
    let page = browser.get("/agent/account").await.text().await.expect("page");
    assert!(
        page.contains("may hand this on to agents it works with: <code>agent:read</code>"),
        "{page}"
    );
    let grant_id = claims_of(&human)["grant_id"].as_str().expect("grant").to_owned();
    set_hand_on(&mut browser, &page, ("grant", &grant_id), &[]).await;
    let refused = hand_on_with(&system, &client, (&human, &actor_own), &[]).await;
    assert_oauth_error(refused, 400, "invalid_grant").await;
    assert_eq!(
        system.introspect(&client_as_reader(&system).await, &human).await["active"],
        true,
        "the human's own token stands"
    );
}

/// Any client that may introspect.
async fn client_as_reader(system: &TestSystem) -> TestClient {
    system.create_client(&["agent:read"]).await
}

/// The token request of an agent handing on its own access with a DPoP proof.
async fn agent_hands_on_with_proof(
    system: &TestSystem,
    (subject, kind): (&str, &str),
    actor_own: &str,
    proof: Option<String>,
) -> reqwest::Response {
    let mut request = system.http.post(system.token_url("/oauth2/token"));
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    request
        .form(&[
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", subject),
            ("subject_token_type", kind),
            ("actor_token", actor_own),
            ("actor_token_type", ACCESS_TOKEN),
        ])
        .send()
        .await
        .expect("reachable")
}

#[tokio::test]
async fn a_dpop_bound_agent_proves_its_key_to_hand_its_access_on() {
    use crate::proofs::{ClientKey, IDENTITY_ENDPOINT, dpop_claims};

    let redis = RedisServer::start();
    let system = spawn_mcp_on(redis.store_settings()).await;
    let (actor, actor_own) = actor(&system).await;
    let key = ClientKey::generate("agent");
    let proof = key.sign(&key.dpop_header(), &dpop_claims("POST", IDENTITY_ENDPOINT));
    let registered: Value = crate::dpop::register_with(&system, Some(proof))
        .await
        .json()
        .await
        .expect("json");
    let assertion = registered["identity_assertion"].as_str().expect("assertion");
    let access = system
        .http
        .post(system.token_url("/oauth2/token"))
        .header("DPoP", key.dpop_proof())
        .form(&[("grant_type", crate::helpers::JWT_BEARER), ("assertion", assertion)])
        .send()
        .await
        .expect("reachable");
    let access = assert_ok(access).await["access_token"]
        .as_str()
        .expect("token")
        .to_owned();

    // Its assertion, or its access token, without a proof of its key: refused.
    let no_proof = agent_hands_on_with_proof(&system, (assertion, JWT), &actor_own, None).await;
    assert_oauth_error(no_proof, 400, "invalid_request").await;
    let no_proof = agent_hands_on_with_proof(&system, (&access, ACCESS_TOKEN), &actor_own, None).await;
    assert_oauth_error(no_proof, 401, "invalid_client").await;
    let thief = ClientKey::generate("thief").dpop_proof();
    let stolen = agent_hands_on_with_proof(&system, (&access, ACCESS_TOKEN), &actor_own, Some(thief)).await;
    assert_oauth_error(stolen, 401, "invalid_client").await;
    // With a proof, either way: handed on.
    for subject in [(assertion, JWT), (access.as_str(), ACCESS_TOKEN)] {
        let proved = agent_hands_on_with_proof(&system, subject, &actor_own, Some(key.dpop_proof())).await;
        let body = assert_ok(proved).await;
        let claims = claims_of(body["access_token"].as_str().expect("token"));
        assert_eq!(claims["sub"], registered["registration_id"]);
        assert_eq!(claims["act"]["sub"], actor.id.as_str());
    }
}
