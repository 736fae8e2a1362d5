//! MCP enterprise-managed authorization: the company's identity provider issues an
//! ID-JAG (draft-ietf-oauth-identity-assertion-authz-grant -04) to a confidential
//! client, which presents it at our token endpoint as a jwt-bearer grant. The provider
//! here has its own key and serves its JWKS over https under a private CA; its ID-JAGs
//! are shaped as draft -04 §4.3 shows them.

use protocol::oauth::id_jag::{HumanProvisioning, IdJagIssuerSettings};
use serde_json::{Value, json};
use shared::testing::{RedisServer, TestWorkloadIssuer};
use shared::time::unix_now;

use crate::helpers::{ISSUER, JWT_BEARER, TestClient, TestSystem, assert_oauth_error, assert_ok, claims_of, spawn_all};
use crate::human::{
    Authorization, Browser, RESOURCE, decide, public_client, redeem, redirect_params, revoke_on_account,
};

const TYP: &str = "oauth-id-jag+jwt";
/// What the MCP server offers; the client is registered for read and write only.
const CLIENT_SCOPES: [&str; 2] = ["mcp:read", "mcp:write"];

/// draft -04 §4.3: the ID-JAG the provider issues `client_id` for `sub`, for us and
/// the MCP server, living five minutes.
pub(crate) fn id_jag_claims(issuer: &str, sub: &str, client_id: &str) -> Value {
    let now = unix_now();
    json!({
        "jti": protocol::secrets::random_token(16),
        "iss": issuer,
        "sub": sub,
        "aud": ISSUER,
        "client_id": client_id,
        "exp": now + 300,
        "iat": now,
        "resource": RESOURCE,
        "scope": "mcp:read mcp:admin",
        "auth_time": now - 30,
        "amr": ["mfa", "phrh", "hwk", "user"],
    })
}

/// The provider's policy for `issuer`: keys at `jwks_uri`, these clients only.
pub(crate) fn policy(issuer: &str, jwks_uri: &str, clients: &[&str]) -> IdJagIssuerSettings {
    IdJagIssuerSettings {
        issuer: issuer.to_owned(),
        jwks_uri: jwks_uri.to_owned(),
        ca_file: None,
        allowed_clients: clients.iter().map(|c| (*c).to_owned()).collect(),
        max_scopes: Vec::new(),
        humans: HumanProvisioning::Create,
        refresh_tokens: false,
    }
}

/// The jwt-bearer request with `id_jag`, the client authenticating with HTTP Basic.
pub(crate) async fn present(
    system: &TestSystem,
    client: &TestClient,
    id_jag: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![("grant_type", JWT_BEARER), ("assertion", id_jag)];
    form.extend_from_slice(extra);
    system
        .http
        .post(system.token_url("/oauth2/token"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&form)
        .send()
        .await
        .expect("token-service reachable")
}

/// Two systems on one store share their signing keys as replicas do: under one KEK.
fn one_kek() -> impl Fn() -> Box<dyn FnOnce(&mut jwks_service::settings::Settings)> {
    use base64::Engine as _;
    let kek = base64::engine::general_purpose::STANDARD.encode(protocol::secrets::random_bytes(32));
    move || {
        let kek = kek.clone();
        Box::new(move |jwks: &mut jwks_service::settings::Settings| jwks.keys.kek.value = Some(kek))
    }
}

/// A system on `store` trusting `idp` (and `other`, a second provider) for ID-JAGs,
/// each also known to identity-service as a sign-in provider; the allowed client and a
/// client the policy leaves out.
struct Enterprise {
    system: TestSystem,
    allowed: TestClient,
    left_out: TestClient,
    _dir: tempfile::TempDir,
    _bare: TestSystem,
}

async fn enterprise(
    store: shared::settings::StoreSettings,
    idp: &TestWorkloadIssuer,
    other: &TestWorkloadIssuer,
) -> Enterprise {
    let dir = tempfile::tempdir().expect("dir");
    let mut corp = crate::upstream::corp(&idp.issuer, &dir);
    corp.ca_file = Some(idp.ca_file());
    let mut second = crate::upstream::corp(&other.issuer, &dir);
    second.id = "other".into();
    second.ca_file = Some(other.ca_file());
    // The clients exist before the policy names them: a system without the policy
    // registers them, then the real one starts on the same store.
    let resource = || protocol::oauth::ProtectedResource {
        resource: RESOURCE.into(),
        scopes_supported: Vec::new(),
        resource_name: Some("MCP server".into()),
    };
    let kek = one_kek();
    let bare = spawn_all(store.clone(), kek(), |_| {}, |_| {}).await;
    let allowed = bare.create_client(&CLIENT_SCOPES).await;
    let left_out = bare.create_client(&CLIENT_SCOPES).await;
    // Kept: it holds the key schedule's lease; the real system shares its keys.
    let mut trusted = policy(&idp.issuer, &idp.jwks_uri, &[&allowed.id]);
    trusted.ca_file = Some(idp.ca_file());
    let mut second_policy = policy(&other.issuer, &other.jwks_uri, &[&allowed.id]);
    second_policy.ca_file = Some(other.ca_file());
    let issuers = vec![trusted, second_policy];
    let for_token = issuers.clone();
    let system = spawn_all(
        store,
        kek(),
        |identity| {
            identity.protected_resources = vec![resource()];
            identity.humans.identity_providers = vec![corp, second];
            identity.token_endpoint.id_jag.issuers = issuers;
        },
        |token| {
            token.protected_resources = vec![resource()];
            token.token_endpoint.id_jag.issuers = for_token;
        },
    )
    .await;
    Enterprise {
        system,
        allowed,
        left_out,
        _dir: dir,
        _bare: bare,
    }
}

#[tokio::test]
async fn an_id_jag_from_the_company_idp_buys_a_token_for_its_resource_once() {
    let redis = RedisServer::start();
    let (idp, other) = (TestWorkloadIssuer::start().await, TestWorkloadIssuer::start().await);
    // One keyspace for both replicas.
    let store = redis.store_settings();
    let Enterprise { system, allowed, .. } = enterprise(store.clone(), &idp, &other).await;
    let id_jag = idp.sign_with_header(header(Some(TYP)), &id_jag_claims(&idp.issuer, "00u1ada", &allowed.id));
    let body = assert_ok(present(&system, &allowed, &id_jag, &[]).await).await;
    let token = body["access_token"].as_str().expect("token");
    let claims = claims_of(token);
    println!("ID-JAG token: {claims}");
    assert_eq!(
        claims["aud"], RESOURCE,
        "the token is for the resource the ID-JAG names"
    );
    assert_eq!(claims["client_id"], allowed.id.as_str());
    // The client's scopes ∩ the ID-JAG's: mcp:admin is the provider's wish alone.
    assert_eq!(body["scope"], "mcp:read");
    assert_eq!(claims["scope"], "mcp:read");
    assert!(body.get("refresh_token").is_none(), "no refresh token unless enabled");
    let human = claims["sub"].as_str().expect("sub").to_owned();
    assert!(
        !human.contains("00u1ada"),
        "the human, not the provider's own id: {human}"
    );
    assert_eq!(system.introspect(&allowed, token).await["active"], true);

    // Replayed, at this replica and at another: one ID-JAG, one token.
    let replica = system
        .token_replica(store, |token| {
            token.protected_resources = vec![protocol::oauth::ProtectedResource {
                resource: RESOURCE.into(),
                scopes_supported: Vec::new(),
                resource_name: None,
            }];
            let mut trusted = policy(&idp.issuer, &idp.jwks_uri, &[&allowed.id]);
            trusted.ca_file = Some(idp.ca_file());
            token.token_endpoint.id_jag.issuers = vec![trusted];
        })
        .await;
    assert_oauth_error(present(&system, &allowed, &id_jag, &[]).await, 400, "invalid_grant").await;
    let at_replica = system
        .http
        .post(format!("http://{}/oauth2/token", replica.http))
        .basic_auth(&allowed.id, Some(&allowed.secret))
        .form(&[("grant_type", JWT_BEARER), ("assertion", id_jag.as_str())])
        .send()
        .await
        .expect("replica reachable");
    assert_oauth_error(at_replica, 400, "invalid_grant").await;

    // The same person again: the same human; another person: another.
    let again = idp.sign_with_header(header(Some(TYP)), &id_jag_claims(&idp.issuer, "00u1ada", &allowed.id));
    let again = assert_ok(present(&system, &allowed, &again, &[("scope", "mcp:read")]).await).await;
    assert_eq!(
        claims_of(again["access_token"].as_str().expect("token"))["sub"],
        human.as_str()
    );
    let grace = idp.sign_with_header(header(Some(TYP)), &id_jag_claims(&idp.issuer, "00u2grace", &allowed.id));
    let grace = assert_ok(present(&system, &allowed, &grace, &[]).await).await;
    assert_ne!(
        claims_of(grace["access_token"].as_str().expect("token"))["sub"],
        human.as_str()
    );
    // Once per replica (the other verified the replay before refusing it), then cached.
    assert_eq!(
        idp.jwks_fetches(),
        2,
        "the provider's keys are fetched once per replica"
    );

    let metadata: Value = reqwest::get(system.identity_url("/.well-known/oauth-authorization-server"))
        .await
        .expect("reachable")
        .json()
        .await
        .expect("json");
    assert_eq!(
        metadata["authorization_grant_profiles_supported"],
        json!(["urn:ietf:params:oauth:grant-profile:id-jag"])
    );
    let grants = metadata["grant_types_supported"].as_array().expect("grant types");
    assert!(grants.contains(&json!(JWT_BEARER)), "{metadata}");
}

/// A header with `typ` (or none), for the provider to sign under.
fn header(typ: Option<&str>) -> jsonwebtoken::Header {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.typ = typ.map(str::to_owned);
    header
}

#[tokio::test]
async fn hostile_id_jags_are_refused_and_spend_nothing() {
    let redis = RedisServer::start();
    let (idp, other) = (TestWorkloadIssuer::start().await, TestWorkloadIssuer::start().await);
    let Enterprise {
        system,
        allowed,
        left_out,
        ..
    } = enterprise(redis.store_settings(), &idp, &other).await;
    let good = id_jag_claims(&idp.issuer, "00u1ada", &allowed.id);
    let signed = |claims: &Value| idp.sign_with_header(header(Some(TYP)), claims);
    let with = |name: &str, value: Value| {
        let mut claims = good.clone();
        claims[name] = value;
        claims
    };
    let now = unix_now();
    let mut expired = with("exp", json!(now - 120));
    expired["iat"] = json!(now - 400);
    let refusals: Vec<Refusal<'_>> = vec![
        (
            "issued to another client",
            signed(&with("client_id", json!(left_out.id))),
            &allowed,
            &[],
            "invalid_grant",
        ),
        (
            "for another audience",
            signed(&with("aud", json!("https://other-as.example"))),
            &allowed,
            &[],
            "invalid_grant",
        ),
        (
            "from an unconfigured issuer",
            signed(&with("iss", json!("https://idp.evil.example"))),
            &allowed,
            &[],
            "invalid_grant",
        ),
        (
            "a configured issuer's, under another IdP's key",
            other.sign_with_header(header(Some(TYP)), &good),
            &allowed,
            &[],
            "invalid_grant",
        ),
        (
            "ours in name, the IdP's key",
            signed(&with("iss", json!(ISSUER))),
            &allowed,
            &[],
            "invalid_grant",
        ),
        (
            "the IdP's in name, our key",
            system.sign(TYP, &good),
            &allowed,
            &[],
            "invalid_grant",
        ),
        (
            "for a resource not ours",
            signed(&with("resource", json!("https://elsewhere.example/api"))),
            &allowed,
            &[],
            "invalid_target",
        ),
        (
            "asked wider than the ID-JAG allows",
            signed(&good),
            &allowed,
            &[("scope", "mcp:write")],
            "invalid_scope",
        ),
        ("expired", signed(&expired), &allowed, &[], "invalid_grant"),
        (
            "living longer than max_lifetime",
            signed(&with("exp", json!(now + 3600))),
            &allowed,
            &[],
            "invalid_grant",
        ),
        (
            "without typ",
            idp.sign_with_header(header(None), &good),
            &allowed,
            &[],
            "invalid_grant",
        ),
        (
            "typed as a plain JWT",
            idp.sign_with_header(header(Some("JWT")), &good),
            &allowed,
            &[],
            "invalid_grant",
        ),
        (
            "with a crit header",
            idp.sign_with_header(crit(), &good),
            &allowed,
            &[],
            "invalid_grant",
        ),
        (
            "from a client the policy leaves out",
            signed(&with("client_id", json!(left_out.id))),
            &left_out,
            &[],
            "unauthorized_client",
        ),
    ];
    for (case, id_jag, client, extra, code) in refusals {
        println!("refusing an ID-JAG {case}");
        assert_oauth_error(present(&system, client, &id_jag, extra).await, 400, code).await;
    }
    // A public client: no client authentication, only its id.
    let public = system
        .post_form(
            "/oauth2/token",
            &[
                ("grant_type", JWT_BEARER),
                ("assertion", &signed(&good)),
                ("client_id", &allowed.id),
            ],
        )
        .await;
    assert_oauth_error(public, 401, "invalid_client").await;
    // Wrong credentials are the client's failure, not the grant's.
    let wrong = TestClient {
        id: allowed.id.clone(),
        secret: "not the secret".into(),
    };
    assert_oauth_error(
        present(&system, &wrong, &signed(&good), &[]).await,
        401,
        "invalid_client",
    )
    .await;
    // Nothing refused spent the ID-JAG: its rightful presentation still works, once.
    assert_ok(present(&system, &allowed, &signed(&good), &[]).await).await;
    assert_oauth_error(
        present(&system, &allowed, &signed(&good), &[]).await,
        400,
        "invalid_grant",
    )
    .await;
}

/// A refused presentation: what it is, the ID-JAG, who presents it, with what, the error.
type Refusal<'a> = (&'a str, String, &'a TestClient, &'a [(&'a str, &'a str)], &'a str);

/// A header naming an extension we do not implement as critical.
fn crit() -> jsonwebtoken::Header {
    let mut header = header(Some(TYP));
    header.crit = Some(vec!["exp".into()]);
    header
}

/// The company's provider as sign-in provider "corp", trusted for its security events,
/// and its ID-JAGs trusted under `tweak`'s policy for a client of its own.
async fn company(
    redis: &RedisServer,
    provider: &crate::upstream::Provider,
    tweak: impl FnOnce(&mut IdJagIssuerSettings),
) -> (TestSystem, TestClient, (tempfile::TempDir, TestSystem)) {
    let dir = tempfile::tempdir().expect("dir");
    let store = redis.store_settings();
    let kek = one_kek();
    let bare = spawn_all(store.clone(), kek(), |_| {}, |_| {}).await;
    let client = bare.create_client(&CLIENT_SCOPES).await;
    // Kept: it holds the key schedule's lease; the real system shares its keys.
    let mut trusted = policy(&provider.issuer, &format!("{}/jwks", provider.issuer), &[&client.id]);
    tweak(&mut trusted);
    let for_token = trusted.clone();
    let corp = crate::upstream::corp(&provider.issuer, &dir);
    let events = identity_service::providers::ProviderSettings {
        issuer: provider.issuer.clone(),
        jwks_uri: format!("{}/jwks", provider.issuer),
        allow_untyped_id_jag: false,
    };
    let resource = || protocol::oauth::ProtectedResource {
        resource: RESOURCE.into(),
        scopes_supported: Vec::new(),
        resource_name: Some("MCP server".into()),
    };
    let system = spawn_all(
        store,
        kek(),
        |identity| {
            identity.protected_resources = vec![resource()];
            identity.humans.identity_providers = vec![corp];
            identity.providers = vec![events];
            identity.token_endpoint.id_jag.issuers = vec![trusted];
        },
        |token| {
            token.protected_resources = vec![resource()];
            token.token_endpoint.id_jag.issuers = vec![for_token];
        },
    )
    .await;
    (system, client, (dir, bare))
}

/// A browser signs in at the provider as `u-1` and allows an MCP client: its token.
async fn signed_in_in_a_browser(
    system: &TestSystem,
    provider: &crate::upstream::Provider,
    browser: &mut Browser,
) -> Value {
    let mcp = public_client(system, "MCP client").await;
    let authorization = Authorization::new(&mcp);
    let (state, _) = crate::upstream::go_upstream(provider, browser, &authorization).await;
    let (issuer, key) = (provider.issuer.clone(), provider.key.signer());
    provider.answer(move |nonce| {
        let now = unix_now();
        let claims = json!({
            "iss": issuer, "sub": "u-1", "aud": crate::upstream::CLIENT_ID, "iat": now, "exp": now + 300,
            "nonce": nonce, "email": "ada@corp.example", "email_verified": true,
            "at_hash": crate::upstream::at_hash("corp-access-token"),
        });
        key.sign("JWT", &claims).expect("sign")
    });
    let consent = crate::upstream::come_back(browser, &state, Some(&provider.issuer)).await;
    assert_eq!(consent.status(), 200);
    let page = consent.text().await.expect("page");
    let back = decide(browser, &authorization, &page, "allow").await;
    let code = redirect_params(&back)["code"].clone();
    assert_ok(redeem(system, &authorization, &code, &authorization.verifier).await).await
}

#[tokio::test]
async fn the_person_is_the_human_who_signs_in_there_and_the_company_or_the_human_revokes() {
    let redis = RedisServer::start();
    let provider = crate::upstream::Provider::start().await;
    let (system, client, _kept) = company(&redis, &provider, |policy| {
        policy.humans = HumanProvisioning::Existing;
        policy.max_scopes = vec!["mcp:read".into()];
        policy.refresh_tokens = true;
    })
    .await;
    let id_jag = || {
        let mut claims = id_jag_claims(&provider.issuer, "u-1", &client.id);
        claims["scope"] = json!("mcp:read mcp:write");
        provider.key.signer().sign(TYP, &claims).expect("sign")
    };
    // Only someone who signed in here before: not yet.
    assert_oauth_error(present(&system, &client, &id_jag(), &[]).await, 400, "invalid_grant").await;

    let mut browser = Browser::new(&system);
    let consented = signed_in_in_a_browser(&system, &provider, &mut browser).await;
    let human = claims_of(consented["access_token"].as_str().expect("token"))["sub"].clone();
    let body = assert_ok(present(&system, &client, &id_jag(), &[]).await).await;
    let access = body["access_token"].as_str().expect("token").to_owned();
    let claims = claims_of(&access);
    assert_eq!(claims["sub"], human, "the same human as the browser sign-in");
    assert_eq!(body["scope"], "mcp:read", "capped by max_scopes");
    let refresh = body["refresh_token"]
        .as_str()
        .expect("enabled: a refresh token")
        .to_owned();
    let refreshed = system
        .http
        .post(system.token_url("/oauth2/token"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())])
        .send()
        .await
        .expect("reachable");
    let refreshed = assert_ok(refreshed).await;
    let rotated = refreshed["refresh_token"].as_str().expect("rotated").to_owned();

    // The human sees what the company granted, and revokes it.
    let page = browser.get("/agent/account").await.text().await.expect("page");
    assert!(page.contains("by your organization, at Corp SSO"), "{page}");
    let grant_id = claims["grant_id"].as_str().expect("grant").to_owned();
    assert!(page.contains(&grant_id), "{page}");
    revoke_on_account(&mut browser, &page, &grant_id).await;
    assert_eq!(system.introspect(&client, &access).await, json!({ "active": false }));
    let after = system
        .http
        .post(system.token_url("/oauth2/token"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", rotated.as_str())])
        .send()
        .await
        .expect("reachable");
    assert_oauth_error(after, 400, "invalid_grant").await;

    // The company ends the person's session there: what it granted dies at once, what
    // the human consented to in the browser does not.
    let again = assert_ok(present(&system, &client, &id_jag(), &[]).await).await;
    let again = again["access_token"].as_str().expect("token").to_owned();
    assert_eq!(system.introspect(&client, &again).await["active"], true);
    let now = unix_now();
    let event = json!({
        "iss": provider.issuer, "aud": ISSUER, "iat": now, "jti": protocol::secrets::random_token(12),
        "sub_id": { "format": "iss_sub", "iss": provider.issuer, "sub": "u-1" },
        "events": {
            "https://schemas.openid.net/secevent/caep/event-type/session-revoked": { "event_timestamp": now },
        },
    });
    let notified = system
        .http
        .post(system.identity_url("/agent/event/notify"))
        .header("content-type", "application/secevent+jwt")
        .body(provider.key.signer().sign("secevent+jwt", &event).expect("sign"))
        .send()
        .await
        .expect("reachable");
    assert_eq!(notified.status(), 202);
    assert_eq!(system.introspect(&client, &again).await, json!({ "active": false }));
    let consented = consented["access_token"].as_str().expect("token");
    assert_eq!(system.introspect(&client, consented).await["active"], true);
}

#[tokio::test]
async fn an_id_jag_issuer_that_is_not_a_sign_in_provider_is_refused_at_startup() {
    let outbox = tempfile::tempdir().expect("outbox");
    let jwks = std::net::SocketAddr::from(([127, 0, 0, 1], shared::testing::reserve_port()));
    let mut settings = crate::helpers::identity_settings(crate::helpers::memory(), jwks, outbox.path());
    settings.token_endpoint.id_jag.issuers = vec![policy(
        "https://idp.corp.example",
        "https://idp.corp.example/jwks",
        &["cli_a"],
    )];
    let Err(refused) = identity_service::startup::Application::build(settings).await else {
        panic!("identity-service started with an ID-JAG issuer it cannot sign people in at");
    };
    let refused = refused.to_string();
    println!("refused: {refused}");
    assert!(refused.contains("token_endpoint.id_jag.issuers[0].issuer"), "{refused}");
    assert!(refused.contains("humans.identity_providers"), "{refused}");
}
