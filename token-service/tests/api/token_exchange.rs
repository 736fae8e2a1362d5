//! RFC 8693 token exchange as delegation: an orchestrator hands part of its work to a
//! sub-agent, which hands part on again. Each token names its subject and every actor
//! (`act`, newest outermost), only narrows what it came from, and dies with it on every
//! replica. Every refusal leaves the tokens it was given as they were.

use proto::clients::v1 as pb;
use serde_json::{Value, json};
use shared::testing::{RedisServer, TestKey};
use shared::time::unix_now;

use crate::helpers::{
    ISSUER, TestClient, TestSystem, access_claims, assert_oauth_error, assert_ok, claims_of, spawn_all,
};
use crate::proofs::ClientKey;

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
const REPORTS: &str = "https://reports.example/api";
const BILLING: &str = "https://billing.example/api";

fn resources() -> Vec<protocol::oauth::ProtectedResource> {
    [REPORTS, BILLING]
        .into_iter()
        .map(|resource| protocol::oauth::ProtectedResource {
            resource: resource.into(),
            scopes_supported: Vec::new(),
            resource_name: None,
        })
        .collect()
}

/// A system on `store` serving `REPORTS` and `BILLING`, with chains of at most two.
async fn delegating(store: shared::settings::StoreSettings) -> TestSystem {
    spawn_all(
        store,
        |_| {},
        |identity| identity.protected_resources = resources(),
        |token| {
            token.protected_resources = resources();
            token.delegation.max_depth = 2;
        },
    )
    .await
}

/// `who` may act for `client` (its `may_act`).
async fn allow(system: &TestSystem, client: &TestClient, who: &[&TestClient]) {
    allow_ids(system, client, who.iter().map(|c| c.id.clone()).collect()).await;
}

/// The parties `actors` (client or registration ids) may act for `client`.
async fn allow_ids(system: &TestSystem, client: &TestClient, actors: Vec<String>) {
    system
        .admin()
        .update_client(pb::UpdateClientRequest {
            client_id: client.id.clone(),
            may_act: Some(pb::Actors { actors }),
            ..Default::default()
        })
        .await
        .expect("may_act set");
}

/// RFC 7009 revocation of `token` by `client`, which it was issued to.
async fn revoke(system: &TestSystem, client: &TestClient, token: &str) {
    let response = system
        .http
        .post(system.token_url("/oauth2/revoke"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[("token", token)])
        .send()
        .await
        .expect("reachable");
    assert_eq!(response.status(), 200);
}

async fn own_token(system: &TestSystem, client: &TestClient, extra: &[(&str, &str)]) -> String {
    let body = assert_ok(system.client_credentials(client, extra).await).await;
    body["access_token"].as_str().expect("token").to_owned()
}

/// A token exchange by `requester` at `at` (a token-service address).
async fn exchange_at(
    system: &TestSystem,
    at: &str,
    requester: &TestClient,
    subject: &str,
    actor: Option<&str>,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token", subject),
        ("subject_token_type", ACCESS_TOKEN),
    ];
    if let Some(actor) = actor {
        form.extend([("actor_token", actor), ("actor_token_type", ACCESS_TOKEN)]);
    }
    form.extend_from_slice(extra);
    system
        .http
        .post(format!("{at}/oauth2/token"))
        .basic_auth(&requester.id, Some(&requester.secret))
        .form(&form)
        .send()
        .await
        .expect("token-service reachable")
}

async fn exchange(
    system: &TestSystem,
    requester: &TestClient,
    subject: &str,
    actor: Option<&str>,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    exchange_at(system, &system.token_url(""), requester, subject, actor, extra).await
}

#[tokio::test]
async fn a_chain_of_delegations_narrows_at_each_hop_and_dies_with_its_root() {
    let redis = RedisServer::start();
    let store = redis.store_settings();
    let system = delegating(store.clone()).await;
    let orchestrator = system.create_client(&["reports:read", "reports:write"]).await;
    let researcher = system.create_client(&["reports:read", "billing:read"]).await;
    let summarizer = system.create_client(&["reports:read"]).await;
    let fourth = system.create_client(&["reports:read"]).await;
    allow(&system, &orchestrator, &[&researcher, &summarizer, &fourth]).await;

    let root = own_token(&system, &orchestrator, &[("resource", REPORTS)]).await;
    let root_claims = claims_of(&root);
    let researcher_own = own_token(&system, &researcher, &[]).await;
    // The orchestrator hands reading to the researcher, for the same resource.
    let first = exchange(
        &system,
        &orchestrator,
        &root,
        Some(&researcher_own),
        &[("resource", REPORTS), ("scope", "reports:read")],
    )
    .await;
    let first = assert_ok(first).await;
    assert_eq!(first["issued_token_type"], ACCESS_TOKEN);
    assert_eq!(first["token_type"], "Bearer");
    assert_eq!(first["scope"], "reports:read");
    let hop1 = first["access_token"].as_str().expect("token").to_owned();
    let hop1_claims = claims_of(&hop1);
    println!("first hop: {hop1_claims}");
    assert_eq!(
        hop1_claims["sub"],
        orchestrator.id.as_str(),
        "still the subject's token"
    );
    assert_eq!(hop1_claims["client_id"], orchestrator.id.as_str());
    assert_eq!(
        hop1_claims["act"],
        json!({ "sub": researcher.id, "client_id": researcher.id })
    );
    assert_eq!(hop1_claims["aud"], REPORTS);
    assert_eq!(hop1_claims["delegated_from"], json!([root_claims["jti"]]));
    let exp = hop1_claims["exp"].as_i64().expect("exp");
    assert!(
        exp <= root_claims["exp"].as_i64().expect("exp"),
        "never past its parent"
    );
    assert!(exp <= unix_now() + 300, "never past delegation.max_lifetime");

    // The researcher, its current actor, hands it on to the summarizer.
    let summarizer_own = own_token(&system, &summarizer, &[]).await;
    let second = assert_ok(exchange(&system, &researcher, &hop1, Some(&summarizer_own), &[]).await).await;
    let hop2 = second["access_token"].as_str().expect("token").to_owned();
    let hop2_claims = claims_of(&hop2);
    println!("second hop: {hop2_claims}");
    assert_eq!(hop2_claims["sub"], orchestrator.id.as_str());
    assert_eq!(
        hop2_claims["act"],
        json!({
            "sub": summarizer.id, "client_id": summarizer.id,
            "act": { "sub": researcher.id, "client_id": researcher.id },
        }),
        "newest actor outermost"
    );
    assert_eq!(second["scope"], "reports:read");
    assert_eq!(hop2_claims["aud"], REPORTS, "the parent's audience when none is asked");
    assert_eq!(
        hop2_claims["delegated_from"],
        json!([root_claims["jti"], hop1_claims["jti"]])
    );

    // delegation.max_depth = 2: a third actor is refused.
    let fourth_own = own_token(&system, &fourth, &[]).await;
    let third = exchange(&system, &summarizer, &hop2, Some(&fourth_own), &[]).await;
    let refused = assert_oauth_error(third, 400, "invalid_grant").await;
    assert!(
        refused["error_description"]
            .as_str()
            .expect("text")
            .contains("max_depth")
    );

    // Introspection, at this replica and another, shows the chain.
    let replica = system
        .token_replica(store, |token| token.protected_resources = resources())
        .await;
    let replica_url = format!("http://{}", replica.http);
    let introspect_at = |url: String, token: String| {
        let http = system.http.clone();
        let rs = orchestrator.clone();
        async move {
            let response = http
                .post(format!("{url}/oauth2/introspect"))
                .basic_auth(&rs.id, Some(&rs.secret))
                .form(&[("token", token.as_str())])
                .send()
                .await
                .expect("reachable");
            assert_ok(response).await
        }
    };
    let seen = introspect_at(replica_url.clone(), hop2.clone()).await;
    assert_eq!(seen["active"], true, "{seen}");
    assert_eq!(seen["act"], hop2_claims["act"]);
    assert_eq!(seen["delegated_from"], hop2_claims["delegated_from"]);

    // The orchestrator revokes its own token: everything exchanged from it ends, on
    // every replica, at once.
    revoke(&system, &orchestrator, &root).await;
    for token in [&root, &hop1, &hop2] {
        for url in [system.token_url(""), replica_url.clone()] {
            assert_eq!(
                introspect_at(url.clone(), token.clone()).await,
                json!({ "active": false }),
                "{url}"
            );
        }
    }
    // And a dead token buys nothing more.
    let again = exchange(&system, &researcher, &hop1, Some(&summarizer_own), &[]).await;
    assert_oauth_error(again, 400, "invalid_request").await;
}

#[tokio::test]
async fn disabling_an_actor_in_the_chain_ends_what_was_exchanged_through_it() {
    let redis = RedisServer::start();
    let system = delegating(redis.store_settings()).await;
    let orchestrator = system.create_client(&["reports:read"]).await;
    let researcher = system.create_client(&["reports:read"]).await;
    allow(&system, &orchestrator, &[&researcher]).await;
    let root = own_token(&system, &orchestrator, &[]).await;
    // The actor asks itself this time.
    let body = assert_ok(exchange(&system, &researcher, &root, None, &[("audience", BILLING)]).await).await;
    let delegated = body["access_token"].as_str().expect("token").to_owned();
    let claims = claims_of(&delegated);
    assert_eq!(claims["aud"], BILLING, "`audience` names the target like `resource`");
    assert_eq!(claims["client_id"], researcher.id.as_str());
    assert_eq!(system.introspect(&orchestrator, &delegated).await["active"], true);
    system
        .admin()
        .set_client_enabled(pb::SetClientEnabledRequest {
            client_id: researcher.id.clone(),
            enabled: false,
        })
        .await
        .expect("disabled");
    assert_eq!(
        system.introspect(&orchestrator, &delegated).await,
        json!({ "active": false })
    );
    assert_eq!(
        system.introspect(&orchestrator, &root).await["active"],
        true,
        "the subject's own token stands"
    );
}

/// A token with our `iss`, audience and signing key's `kid`, carrying `act`, signed by
/// a key we never published.
fn forged(system: &TestSystem, sub: &str) -> String {
    let mut claims = access_claims(sub);
    claims["act"] = json!({ "sub": "cli_00000000000000000000000000000000" });
    claims["scope"] = json!("reports:read");
    TestKey::generate("forger")
        .signer_as(system.signer.kid())
        .sign("at+jwt", &claims)
        .expect("sign")
}

#[tokio::test]
async fn hostile_exchanges_are_refused_and_spend_nothing() {
    let redis = RedisServer::start();
    let system = delegating(redis.store_settings()).await;
    let holder = system.create_client(&["reports:read", "reports:write"]).await;
    let actor = system.create_client(&["reports:read", "reports:write"]).await;
    let stranger = system.create_client(&["reports:read", "reports:write"]).await;
    let unlisted = system.create_client(&["reports:read"]).await;
    allow(&system, &holder, &[&actor]).await;
    let subject = own_token(&system, &holder, &[("scope", "reports:read")]).await;
    let actor_own = own_token(&system, &actor, &[]).await;
    let unlisted_own = own_token(&system, &unlisted, &[]).await;

    // The holder asks for the listed actor, with `extra`.
    let holder_asks =
        |extra: &'static [(&'static str, &'static str)]| exchange(&system, &holder, &subject, Some(&actor_own), extra);
    let cases: Vec<(&str, reqwest::Response, u16, &str)> = vec![
        (
            "widening scope",
            holder_asks(&[("scope", "reports:write")]).await,
            400,
            "invalid_scope",
        ),
        (
            "widening audience: two targets",
            holder_asks(&[("resource", REPORTS), ("audience", BILLING)]).await,
            400,
            "invalid_target",
        ),
        (
            "a target we do not issue for",
            holder_asks(&[("resource", "https://elsewhere.example/")]).await,
            400,
            "invalid_target",
        ),
        (
            "an actor the subject did not name",
            exchange(&system, &holder, &subject, Some(&unlisted_own), &[]).await,
            400,
            "invalid_grant",
        ),
        (
            "the subject's token presented by a third party for a listed actor",
            exchange(&system, &stranger, &subject, Some(&actor_own), &[]).await,
            400,
            "unauthorized_client",
        ),
        (
            "the subject's token presented by a third party acting for itself",
            exchange(&system, &stranger, &subject, None, &[]).await,
            400,
            "invalid_grant",
        ),
        (
            "an actor token signed by a key we never published",
            exchange(&system, &holder, &subject, Some(&forged(&system, &actor.id)), &[]).await,
            400,
            "invalid_request",
        ),
        (
            "an act chain injected through a subject token we did not issue",
            exchange(&system, &actor, &forged(&system, &holder.id), None, &[]).await,
            400,
            "invalid_request",
        ),
        (
            "requested_token_type refresh_token",
            holder_asks(&[("requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token")]).await,
            400,
            "invalid_request",
        ),
        (
            "requested_token_type id_token",
            holder_asks(&[("requested_token_type", "urn:ietf:params:oauth:token-type:id_token")]).await,
            400,
            "invalid_request",
        ),
        (
            "an expired subject token",
            exchange(&system, &actor, &expired(&system, &holder), None, &[]).await,
            400,
            "invalid_request",
        ),
        (
            "an actor token without its type",
            system
                .post_form(
                    "/oauth2/token",
                    &[
                        ("grant_type", TOKEN_EXCHANGE),
                        ("subject_token", &subject),
                        ("subject_token_type", ACCESS_TOKEN),
                        ("actor_token", &actor_own),
                        ("client_id", &holder.id),
                        ("client_secret", &holder.secret),
                    ],
                )
                .await,
            400,
            "invalid_request",
        ),
        (
            "no client authentication",
            system
                .post_form(
                    "/oauth2/token",
                    &[
                        ("grant_type", TOKEN_EXCHANGE),
                        ("subject_token", &subject),
                        ("subject_token_type", ACCESS_TOKEN),
                    ],
                )
                .await,
            401,
            "invalid_client",
        ),
    ];
    for (case, response, status, code) in cases {
        let body: Value = assert_oauth_error(response, status, code).await;
        println!("{case}: {body}");
    }
    // Nothing was spent: the same subject still buys the narrow token it may.
    assert_eq!(system.introspect(&holder, &subject).await["active"], true);
    let fine = exchange(
        &system,
        &holder,
        &subject,
        Some(&actor_own),
        &[("scope", "reports:read")],
    )
    .await;
    assert_eq!(assert_ok(fine).await["scope"], "reports:read");

    // A revoked subject buys nothing.
    let revoked = own_token(&system, &holder, &[]).await;
    revoke(&system, &holder, &revoked).await;
    assert_oauth_error(
        exchange(&system, &holder, &revoked, Some(&actor_own), &[]).await,
        400,
        "invalid_request",
    )
    .await;
}

/// A token exchange by `requester` with a DPoP proof.
async fn exchange_with_proof(
    system: &TestSystem,
    requester: &TestClient,
    subject: &str,
    actor: &str,
    proof: &str,
) -> reqwest::Response {
    system
        .http
        .post(system.token_url("/oauth2/token"))
        .basic_auth(&requester.id, Some(&requester.secret))
        .header("DPoP", proof)
        .form(&[
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", subject),
            ("subject_token_type", ACCESS_TOKEN),
            ("actor_token", actor),
            ("actor_token_type", ACCESS_TOKEN),
        ])
        .send()
        .await
        .expect("reachable")
}

/// A token of `client` that expired a minute ago, signed with our real key.
fn expired(system: &TestSystem, client: &TestClient) -> String {
    let mut claims = access_claims(&client.id);
    claims["exp"] = json!(unix_now() - 120);
    claims["iat"] = json!(unix_now() - 720);
    claims["aud"] = json!(ISSUER);
    system.sign("at+jwt", &claims)
}

#[tokio::test]
async fn a_dpop_bound_subject_is_exchanged_only_with_a_proof_of_its_key() {
    let redis = RedisServer::start();
    let system = delegating(redis.store_settings()).await;
    let holder = system.create_client(&["reports:read"]).await;
    let actor = system.create_client(&["reports:read"]).await;
    allow(&system, &holder, &[&actor]).await;
    let key = ClientKey::generate("holder");
    let bound = system
        .http
        .post(system.token_url("/oauth2/token"))
        .basic_auth(&holder.id, Some(&holder.secret))
        .header("DPoP", key.dpop_proof())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("reachable");
    let bound = assert_ok(bound).await["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let actor_own = own_token(&system, &actor, &[]).await;
    // Without a proof, and with a proof of another key: refused.
    assert_oauth_error(
        exchange(&system, &holder, &bound, Some(&actor_own), &[]).await,
        400,
        "invalid_request",
    )
    .await;
    let other = ClientKey::generate("other");
    let with_other = exchange_with_proof(&system, &holder, &bound, &actor_own, &other.dpop_proof()).await;
    assert_oauth_error(with_other, 400, "invalid_request").await;
    // With a proof of its key: the delegated token is bound to that key too.
    let proved = exchange_with_proof(&system, &holder, &bound, &actor_own, &key.dpop_proof()).await;
    let body = assert_ok(proved).await;
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(
        claims_of(body["access_token"].as_str().expect("token"))["cnf"]["jkt"],
        key.thumbprint()
    );
}

#[tokio::test]
async fn an_agent_acts_for_a_client_and_its_registration_revoked_ends_the_delegation() {
    use crate::provider_revocation::{provider_agent, trusting};

    let redis = RedisServer::start();
    let provider = shared::testing::TestProvider::start().await;
    let system = trusting(redis.store_settings(), &provider).await;
    // An agent registered by its provider, with its own access token.
    let assertion = provider_agent(&system, &provider).await;
    let agent = system
        .post_form(
            "/oauth2/token",
            &[("grant_type", crate::helpers::JWT_BEARER), ("assertion", &assertion)],
        )
        .await;
    let agent = assert_ok(agent).await["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let agent_claims = claims_of(&agent);
    let registration = agent_claims["sub"].as_str().expect("reg").to_owned();

    // A machine client names the agent, by its registration, as one who may act for it.
    let holder = system.create_client(&["agent:read"]).await;
    allow_ids(&system, &holder, vec![registration.clone()]).await;
    let subject = own_token(&system, &holder, &[]).await;
    let body = assert_ok(exchange(&system, &holder, &subject, Some(&agent), &[]).await).await;
    let delegated = body["access_token"].as_str().expect("token").to_owned();
    assert_eq!(
        claims_of(&delegated)["act"],
        json!({ "sub": registration, "client_id": agent_claims["client_id"] })
    );
    assert_eq!(system.introspect(&holder, &delegated).await["active"], true);

    // The provider revokes the agent: what it was acting with ends; the client's own
    // token does not.
    let notified = system
        .http
        .post(system.identity_url("/agent/event/notify"))
        .header("content-type", "application/secevent+jwt")
        .body(provider.revocation_event(ISSUER, "user-1"))
        .send()
        .await
        .expect("reachable");
    assert_eq!(notified.status(), 202);
    assert_eq!(system.introspect(&holder, &delegated).await, json!({ "active": false }));
    assert_eq!(system.introspect(&holder, &subject).await["active"], true);
}

#[tokio::test]
async fn a_sub_agent_acts_with_its_identity_assertion() {
    let redis = RedisServer::start();
    let system = delegating(redis.store_settings()).await;
    let holder = system.create_client(&["agent:read", "agent:write"]).await;
    let registered = system.register_anonymous().await;
    let registration = registered["registration_id"].as_str().expect("reg").to_owned();
    let assertion = registered["identity_assertion"].as_str().expect("assertion").to_owned();
    allow_ids(&system, &holder, vec![registration.clone()]).await;
    let subject = own_token(&system, &holder, &[]).await;
    let with_assertion = |actor: String| {
        let (system, holder, subject) = (&system, &holder, subject.clone());
        async move {
            system
                .http
                .post(system.token_url("/oauth2/token"))
                .basic_auth(&holder.id, Some(&holder.secret))
                .form(&[
                    ("grant_type", TOKEN_EXCHANGE),
                    ("subject_token", subject.as_str()),
                    ("subject_token_type", ACCESS_TOKEN),
                    ("actor_token", actor.as_str()),
                    ("actor_token_type", "urn:ietf:params:oauth:token-type:jwt"),
                ])
                .send()
                .await
                .expect("reachable")
        }
    };
    let body = assert_ok(with_assertion(assertion.clone()).await).await;
    let claims = claims_of(body["access_token"].as_str().expect("token"));
    assert_eq!(claims["act"]["sub"], registration.as_str(), "{claims}");
    // An unclaimed agent acts with no more than its pre-claim scopes.
    assert_eq!(
        body["scope"], "agent:read",
        "the holder's read and write ∩ the agent's read"
    );
    // An assertion we did not sign is no actor.
    let mut forged = claims_of(&assertion);
    forged["sub"] = json!("reg_00000000000000000000000000000000");
    let forged = TestKey::generate("forger")
        .signer_as(system.signer.kid())
        .sign(protocol::jose::assertion::ASSERTION_TYP, &forged)
        .expect("sign");
    let refused = assert_oauth_error(with_assertion(forged).await, 400, "invalid_request").await;
    println!("forged actor assertion: {refused}");
}
