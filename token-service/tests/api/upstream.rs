//! Sign-in at a company's identity provider (OpenID Connect), every refusal of the ID
//! token and of the answer. The provider here is a stand-in whose token endpoint answers
//! with the ID token a test shapes (a real provider never signs a bad one); the real
//! provider, panva's oidc-provider, is driven end to end in agentctl's tests.

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use shared::testing::TestKey;
use shared::time::unix_now;

use crate::helpers::{TestSystem, memory};
use crate::human::{
    Authorization, Browser, EMAIL, csrf, decide, public_client, redirect_params, sign_in, spawn_mcp_with,
};

pub(crate) const CLIENT_ID: &str = "agentauth-at-corp";
const CLIENT_SECRET: &str = "corp client secret";

/// What the stand-in's token endpoint answers next: an ID token, given the nonce.
type Shape = Box<dyn Fn(&str) -> String + Send>;
type NextToken = Arc<Mutex<Option<Shape>>>;

/// A stand-in provider: discovery, a JWKS and a token endpoint over http on loopback.
pub(crate) struct Provider {
    pub(crate) issuer: String,
    pub(crate) key: TestKey,
    next: NextToken,
    /// The nonce of the sign-in a test is finishing.
    nonce: Arc<Mutex<String>>,
    _server: actix_web::dev::ServerHandle,
}

impl Provider {
    pub(crate) async fn start() -> Self {
        let key = TestKey::generate("corp-1");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let issuer = format!("http://127.0.0.1:{}", listener.local_addr().expect("addr").port());
        let discovery = json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "jwks_uri": format!("{issuer}/jwks"),
            "end_session_endpoint": format!("{issuer}/logout"),
            "id_token_signing_alg_values_supported": ["ES256"],
            "authorization_response_iss_parameter_supported": true,
        });
        let jwks = json!({ "keys": [key.jwk.clone()] });
        let next: NextToken = Arc::new(Mutex::new(None));
        let nonce = Arc::new(Mutex::new(String::new()));
        let (n, nn) = (next.clone(), nonce.clone());
        let server = HttpServer::new(move || {
            let (discovery, jwks, next, nonce) = (discovery.clone(), jwks.clone(), n.clone(), nn.clone());
            App::new()
                .route(
                    "/.well-known/openid-configuration",
                    web::get().to(move || {
                        let body = discovery.clone();
                        async move { HttpResponse::Ok().json(body) }
                    }),
                )
                .route(
                    "/jwks",
                    web::get().to(move || {
                        let body = jwks.clone();
                        async move { HttpResponse::Ok().json(body) }
                    }),
                )
                .route(
                    "/token",
                    web::post().to(
                        move |request: actix_web::HttpRequest, form: web::Form<Vec<(String, String)>>| {
                            let (next, nonce) = (next.clone(), nonce.clone());
                            async move { token(&request, &form, &next, &nonce) }
                        },
                    ),
                )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            issuer,
            key,
            next,
            nonce,
            _server: handle,
        }
    }

    /// The token endpoint's next ID token: `claims` (given the nonce) signed by `sign`.
    pub(crate) fn answer(&self, shape: impl Fn(&str) -> String + Send + 'static) {
        *self.next.lock().expect("lock") = Some(Box::new(shape));
    }

    /// Good claims for `sub` with `email`, for this sign-in's `nonce`.
    fn claims(&self, nonce: &str, sub: &str, email: &str, verified: bool) -> Value {
        let now = unix_now();
        json!({
            "iss": self.issuer, "sub": sub, "aud": CLIENT_ID, "iat": now, "exp": now + 300,
            "nonce": nonce, "email": email, "email_verified": verified, "auth_time": now - 5,
        })
    }
}

/// The stand-in's token endpoint: the client authenticates with its secret, and gets
/// the ID token the test shaped (or `invalid_grant` when it shaped none).
fn token(
    request: &actix_web::HttpRequest,
    form: &[(String, String)],
    next: &NextToken,
    nonce: &Mutex<String>,
) -> HttpResponse {
    use base64::Engine as _;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{}", urlencode(CLIENT_SECRET)))
    );
    let basic = request.headers().get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str());
    let authorized = basic || assertion_ok(form);
    let verifier = form.iter().any(|(k, v)| k == "code_verifier" && v.len() >= 43);
    let shaped = next.lock().expect("lock");
    match (&*shaped, authorized && verifier) {
        (Some(shape), true) => {
            let nonce = nonce.lock().expect("lock").clone();
            HttpResponse::Ok().json(json!({
                "access_token": "corp-access-token", "token_type": "Bearer", "expires_in": 300,
                "id_token": shape(&nonce),
            }))
        }
        _ => HttpResponse::BadRequest().json(json!({ "error": "invalid_grant" })),
    }
}

/// The relying party's key for `private_key_jwt`, registered at the stand-in.
fn rp_key() -> &'static TestKey {
    static KEY: std::sync::OnceLock<TestKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| TestKey::generate("rp-1"))
}

/// RFC 7523 §3: a client assertion signed by the RP's key, for us, about the client.
fn assertion_ok(form: &[(String, String)]) -> bool {
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    if field("client_assertion_type") != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer") {
        return false;
    }
    let Some(assertion) = field("client_assertion") else {
        return false;
    };
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(rp_key().jwk.clone()).expect("jwk");
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("key");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    // The audience (our token endpoint) is checked below, by its path.
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(assertion, &key, &validation).is_ok_and(|data| {
        data.claims["iss"] == CLIENT_ID
            && data.claims["sub"] == CLIENT_ID
            && data.claims["aud"]
                .as_str()
                .is_some_and(|aud| aud.ends_with(TOKEN_PATH_SUFFIX))
            && data.claims["jti"].is_string()
    })
}

const TOKEN_PATH_SUFFIX: &str = "/token";

/// RFC 6749 §2.3.1: the client secret is form-urlencoded before Basic.
fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// `issuer` as the company's provider "corp" (Corp SSO), its client secret in `dir`.
pub(crate) fn corp(
    issuer: &str,
    dir: &tempfile::TempDir,
) -> identity_service::upstream::settings::IdentityProviderSettings {
    let secret = dir.path().join("client-secret");
    std::fs::write(&secret, CLIENT_SECRET).expect("secret file");
    identity_service::upstream::settings::IdentityProviderSettings {
        id: "corp".into(),
        display_name: "Corp SSO".into(),
        issuer: issuer.to_owned(),
        client_id: CLIENT_ID.into(),
        client_secret_file: Some(secret),
        private_key_jwt: None,
        scopes: vec!["openid".into(), "email".into()],
        allowed_email_domains: Vec::new(),
        claims_mapping: Default::default(),
        link_by_verified_email: false,
        ca_file: None,
    }
}

async fn system_with(
    provider: &Provider,
    tweak: impl FnOnce(&mut identity_service::upstream::settings::IdentityProviderSettings),
) -> (TestSystem, tempfile::TempDir) {
    system_with_codes(provider, true, tweak).await
}

async fn system_with_codes(
    provider: &Provider,
    email_codes: bool,
    tweak: impl FnOnce(&mut identity_service::upstream::settings::IdentityProviderSettings),
) -> (TestSystem, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("dir");
    let mut settings = corp(&provider.issuer, &dir);
    tweak(&mut settings);
    let system = spawn_mcp_with(memory(), |identity| {
        identity.humans.identity_providers = vec![settings];
        identity.humans.email_codes = email_codes;
    })
    .await;
    (system, dir)
}

/// From the login page to the provider: the `state` and `nonce` the redirect carries.
pub(crate) async fn go_upstream(
    provider: &Provider,
    browser: &mut Browser,
    authorization: &Authorization,
) -> (String, String) {
    let login = browser.authorize(authorization).await;
    assert_eq!(login.status(), 200);
    let page = login.text().await.expect("page");
    assert!(page.contains("Sign in with Corp SSO"), "{page}");
    let sent = browser
        .post(
            "/oauth2/authorize/upstream",
            &[
                ("request", &authorization.query),
                ("csrf", &csrf(&page)),
                ("provider", "corp"),
            ],
        )
        .await;
    assert_eq!(sent.status(), 303);
    let location = sent.headers()["location"].to_str().expect("text").to_owned();
    assert!(
        location.starts_with(&format!("{}/authorize?", provider.issuer)),
        "{location}"
    );
    let params: std::collections::HashMap<String, String> = url::Url::parse(&location)
        .expect("url")
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(params["client_id"], CLIENT_ID);
    assert!(params["redirect_uri"].ends_with("/agent/sign-in/callback"));
    *provider.nonce.lock().expect("lock") = params["nonce"].clone();
    (params["state"].clone(), params["nonce"].clone())
}

/// The provider sends the browser back with a code.
pub(crate) async fn come_back(browser: &mut Browser, state: &str, iss: Option<&str>) -> reqwest::Response {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("code", "a-code").append_pair("state", state);
    if let Some(iss) = iss {
        query.append_pair("iss", iss);
    }
    browser
        .get(&format!("/agent/sign-in/callback?{}", query.finish()))
        .await
}

/// A refused sign-in: a page (never a 500) saying `why`, echoing nothing.
async fn refused(response: reqwest::Response, why: &str) {
    let status = response.status();
    let page = response.text().await.expect("page");
    assert_eq!(status, 400, "{page}");
    assert!(page.contains(why), "expected `{why}` in {page}");
    println!("refused as expected: {why}");
}

#[tokio::test]
async fn a_human_signs_in_at_the_company_provider_and_consents() {
    let provider = Provider::start().await;
    let (system, _dir) = system_with(&provider, |_| {}).await;
    let client = public_client(&system, "MCP client").await;
    let authorization = Authorization::new(&client);
    let mut browser = Browser::new(&system);
    let (state, _) = go_upstream(&provider, &mut browser, &authorization).await;
    let issuer = provider.issuer.clone();
    let key = provider.key.signer();
    provider.answer(move |nonce| {
        let now = unix_now();
        let claims = json!({
            "iss": issuer, "sub": "u-1", "aud": CLIENT_ID, "iat": now, "exp": now + 300, "nonce": nonce,
            "email": "ada@corp.example", "email_verified": true,
            // OIDC Core §3.1.3.6 over "corp-access-token" with SHA-256.
            "at_hash": at_hash("corp-access-token"),
        });
        key.sign("JWT", &claims).expect("sign")
    });
    let consent = come_back(&mut browser, &state, Some(&provider.issuer)).await;
    assert_eq!(consent.status(), 200);
    let page = consent.text().await.expect("page");
    assert!(page.contains("ada@corp.example"), "{page}");
    // The resource by its RFC 9728 name, and Deny the secondary button.
    assert!(
        page.contains("MCP server (<code>https://mcp.example.com/mcp</code>)"),
        "{page}"
    );
    assert!(page.contains("id=\"deny\" class=\"secondary\""), "{page}");
    let back = decide(&mut browser, &authorization, &page, "allow").await;
    let params = redirect_params(&back);
    assert_eq!(params["state"], authorization.state);
    assert!(params.contains_key("code"));

    let account = browser.get("/agent/account").await.text().await.expect("page");
    assert!(
        account.contains("with Corp SSO"),
        "the account page names the provider: {account}"
    );
    assert!(
        account.contains("id=\"switch\""),
        "and offers another account: {account}"
    );
    // Nothing claimed: said in words, not bare headers.
    assert!(account.contains("You have not claimed any agent yet"), "{account}");
}

pub(crate) fn at_hash(token: &str) -> String {
    use base64::Engine as _;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
}

#[tokio::test]
async fn forged_and_misaddressed_id_tokens_are_refused() {
    let provider = Provider::start().await;
    let (system, _dir) = system_with(&provider, |_| {}).await;
    let client = public_client(&system, "MCP client").await;
    let authorization = Authorization::new(&client);
    let base = provider.claims("", "u-1", "ada@corp.example", true);
    let other_key = TestKey::generate("corp-1");
    let cases: Vec<(&str, Shape)> = vec![
        ("signature is invalid", {
            let (claims, key) = (base.clone(), other_key.signer());
            Box::new(move |nonce| key.sign("JWT", &with_nonce(&claims, nonce)).expect("sign"))
        }),
        ("not a signed JWT", {
            let claims = base.clone();
            Box::new(move |nonce| unsigned(&with_nonce(&claims, nonce)))
        }),
        ("HMAC-signed", {
            let claims = base.clone();
            Box::new(move |nonce| hmac(&with_nonce(&claims, nonce), CLIENT_SECRET))
        }),
        (
            "aud is not this server",
            shaped(&provider, &base, |c| c["aud"] = "someone-else".into()),
        ),
        (
            "aud names others",
            shaped(&provider, &base, |c| c["aud"] = json!([CLIENT_ID, "someone-else"])),
        ),
        (
            "iss is not the provider",
            shaped(&provider, &base, |c| c["iss"] = "https://evil.example".into()),
        ),
        (
            "has expired",
            shaped(&provider, &base, |c| {
                c["exp"] = json!(unix_now() - 600);
                c["iat"] = json!(unix_now() - 900);
            }),
        ),
        ("nonce is not this sign-in", {
            let (claims, key) = (base.clone(), provider.key.signer());
            Box::new(move |_| key.sign("JWT", &with_nonce(&claims, "another-nonce")).expect("sign"))
        }),
        (
            "at_hash does not match",
            shaped(&provider, &base, |c| c["at_hash"] = "AAAAAAAAAAAAAAAAAAAAAA".into()),
        ),
    ];
    for (why, shape) in cases {
        let mut browser = Browser::new(&system);
        let (state, _) = go_upstream(&provider, &mut browser, &authorization).await;
        *provider.next.lock().expect("lock") = Some(shape);
        refused(come_back(&mut browser, &state, Some(&provider.issuer)).await, why).await;
    }
}

/// An ID token shaped by `change` from `base`, signed by the provider, for the nonce.
fn shaped(provider: &Provider, base: &Value, change: impl Fn(&mut Value)) -> Shape {
    let mut claims = base.clone();
    change(&mut claims);
    let key = provider.key.signer();
    Box::new(move |nonce| key.sign("JWT", &with_nonce(&claims, nonce)).expect("sign"))
}

fn with_nonce(claims: &Value, nonce: &str) -> Value {
    let mut claims = claims.clone();
    if claims["nonce"] == "" {
        claims["nonce"] = nonce.into();
    }
    claims
}

fn unsigned(claims: &Value) -> String {
    use base64::Engine as _;
    let encode = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.",
        encode(&json!({ "alg": "none", "kid": "corp-1" })),
        encode(claims)
    )
}

fn hmac(claims: &Value, secret: &str) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some("corp-1".into());
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

#[tokio::test]
async fn a_replayed_state_another_sessions_answer_and_a_mix_up_are_refused() {
    let provider = Provider::start().await;
    let (system, _dir) = system_with(&provider, |_| {}).await;
    let client = public_client(&system, "MCP client").await;
    let authorization = Authorization::new(&client);
    let good = |provider: &Provider| {
        let (claims, key) = (
            provider.claims("", "u-1", "ada@corp.example", true),
            provider.key.signer(),
        );
        move |nonce: &str| key.sign("JWT", &with_nonce(&claims, nonce)).expect("sign")
    };
    provider.answer(good(&provider));

    // RFC 9207: the answer names another issuer, or (the provider always names itself)
    // none: a mix-up.
    let mut browser = Browser::new(&system);
    let (state, _) = go_upstream(&provider, &mut browser, &authorization).await;
    refused(
        come_back(&mut browser, &state, Some("https://evil.example")).await,
        "another identity provider",
    )
    .await;
    let (state, _) = go_upstream(&provider, &mut browser, &authorization).await;
    refused(come_back(&mut browser, &state, None).await, "another identity provider").await;

    // A state answered once is gone; another browser's state is not this one's.
    let (state, _) = go_upstream(&provider, &mut browser, &authorization).await;
    assert_eq!(
        come_back(&mut browser, &state, Some(&provider.issuer)).await.status(),
        200
    );
    refused(
        come_back(&mut browser, &state, Some(&provider.issuer)).await,
        "was not started in this browser",
    )
    .await;
    let mut other = Browser::new(&system);
    let (theirs, _) = go_upstream(&provider, &mut other, &authorization).await;
    let mut mine = Browser::new(&system);
    let (_, _) = go_upstream(&provider, &mut mine, &authorization).await;
    refused(
        come_back(&mut mine, &theirs, Some(&provider.issuer)).await,
        "was not started in this browser",
    )
    .await;

    // The provider said no: the client hears access_denied, and nothing else.
    let mut browser = Browser::new(&system);
    let (state, _) = go_upstream(&provider, &mut browser, &authorization).await;
    let denied = browser
        .get(&format!(
            "/agent/sign-in/callback?error=access_denied&error_description=%3Cb%3E&state={state}&iss={}",
            provider.issuer
        ))
        .await;
    let params = redirect_params(&denied);
    assert_eq!(params["error"], "access_denied");
    assert!(!params["error_description"].contains('<'));
}

#[tokio::test]
async fn an_address_links_only_when_verified_and_allowed_and_domains_are_enforced() {
    let provider = Provider::start().await;
    let (system, _dir) = system_with(&provider, |corp| {
        corp.link_by_verified_email = true;
        corp.allowed_email_domains = vec!["example.com".into()];
    })
    .await;
    let client = public_client(&system, "MCP client").await;
    let authorization = Authorization::new(&client);
    // Ada allows the client, signed in by emailed code.
    let mut by_code = Browser::new(&system);
    let consent = sign_in(&system, &mut by_code, &authorization, EMAIL).await;
    let page = consent.text().await.expect("page");
    redirect_params(&decide(&mut by_code, &authorization, &page, "allow").await);

    let answer = |verified: bool, email: &'static str| {
        let (claims, key) = (provider.claims("", "corp-ada", email, verified), provider.key.signer());
        move |nonce: &str| key.sign("JWT", &with_nonce(&claims, nonce)).expect("sign")
    };
    // Unverified: not Ada, so no remembered consent — the consent page again.
    provider.answer(answer(false, EMAIL));
    let mut browser = Browser::new(&system);
    let (state, _) = go_upstream(&provider, &mut browser, &authorization).await;
    refused(
        come_back(&mut browser, &state, Some(&provider.issuer)).await,
        "email domain may not sign in here",
    )
    .await;
    // Verified and linking allowed: Ada, whose consent stands: straight back with a code.
    provider.answer(answer(true, EMAIL));
    let mut browser = Browser::new(&system);
    let (state, _) = go_upstream(&provider, &mut browser, &authorization).await;
    let back = come_back(&mut browser, &state, Some(&provider.issuer)).await;
    assert!(redirect_params(&back).contains_key("code"), "the same human as by code");
    // Their account page lists how each of their sessions signed in.
    let account = browser.get("/agent/account").await.text().await.expect("page");
    for how in ["Corp SSO", "an emailed code"] {
        assert!(
            account.contains(&format!("<td class=\"with\">{how}</td>")),
            "{how}: {account}"
        );
    }
    // Another domain: refused.
    provider.answer(answer(true, "mallory@elsewhere.example"));
    let mut browser = Browser::new(&system);
    let (state, _) = go_upstream(&provider, &mut browser, &authorization).await;
    refused(
        come_back(&mut browser, &state, Some(&provider.issuer)).await,
        "email domain may not sign in here",
    )
    .await;
}

#[tokio::test]
async fn an_unverified_address_never_links_to_whoever_used_it() {
    let provider = Provider::start().await;
    let (system, _dir) = system_with(&provider, |corp| corp.link_by_verified_email = true).await;
    let client = public_client(&system, "MCP client").await;
    let authorization = Authorization::new(&client);
    let mut by_code = Browser::new(&system);
    let consent = sign_in(&system, &mut by_code, &authorization, EMAIL).await;
    let page = consent.text().await.expect("page");
    redirect_params(&decide(&mut by_code, &authorization, &page, "allow").await);

    let (claims, key) = (provider.claims("", "someone", EMAIL, false), provider.key.signer());
    provider.answer(move |nonce: &str| key.sign("JWT", &with_nonce(&claims, nonce)).expect("sign"));
    let mut browser = Browser::new(&system);
    let (state, _) = go_upstream(&provider, &mut browser, &authorization).await;
    let shown = come_back(&mut browser, &state, Some(&provider.issuer)).await;
    assert_eq!(shown.status(), 200, "a consent page: not Ada, whose consent stands");
    assert!(shown.text().await.expect("page").contains("Allow access?"));
    let account = browser.get("/agent/account").await.text().await.expect("page");
    assert!(account.contains("with Corp SSO"), "{account}");
}

/// A logout token of the provider for `sub`, shaped by `change`.
fn logout_token(provider: &Provider, sub: &str, change: impl Fn(&mut Value)) -> String {
    let mut claims = json!({
        "iss": provider.issuer, "aud": CLIENT_ID, "iat": unix_now(), "jti": protocol::secrets::random_token(8),
        "sub": sub, "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
    });
    change(&mut claims);
    provider.key.signer().sign("logout+jwt", &claims).expect("sign")
}

async fn post_logout(system: &TestSystem, provider_id: &str, token: &str) -> reqwest::Response {
    system
        .http
        .post(system.identity_url(&format!("/agent/sign-in/backchannel-logout/{provider_id}")))
        .form(&[("logout_token", token)])
        .send()
        .await
        .expect("identity reachable")
}

#[tokio::test]
async fn the_providers_back_channel_logout_ends_the_session_and_sign_out_offers_the_providers() {
    let provider = Provider::start().await;
    let (system, _dir) = system_with(&provider, |_| {}).await;
    let client = public_client(&system, "MCP client").await;
    let authorization = Authorization::new(&client);
    let (claims, key) = (
        provider.claims("", "u-7", "grace@corp.example", true),
        provider.key.signer(),
    );
    provider.answer(move |nonce: &str| key.sign("JWT", &with_nonce(&claims, nonce)).expect("sign"));
    let signed_in = || async {
        let mut browser = Browser::new(&system);
        let (state, _) = go_upstream(&provider, &mut browser, &authorization).await;
        assert_eq!(
            come_back(&mut browser, &state, Some(&provider.issuer)).await.status(),
            200
        );
        browser
    };
    let mut first = signed_in().await;
    let mut second = signed_in().await;
    let account = |page: String| page.contains("Signed in as");
    assert!(account(first.get("/agent/account").await.text().await.expect("page")));

    // §2.6: every rule of the logout token; a refused one ends nothing.
    for (why, token) in [
        ("nonce", logout_token(&provider, "u-7", |c| c["nonce"] = "n".into())),
        (
            "back-channel logout event",
            logout_token(&provider, "u-7", |c| {
                c.as_object_mut().expect("object").remove("events");
            }),
        ),
        (
            "aud is not this server",
            logout_token(&provider, "u-7", |c| c["aud"] = "another-rp".into()),
        ),
        (
            "iat is not recent",
            logout_token(&provider, "u-7", |c| c["iat"] = json!(unix_now() - 3600)),
        ),
        (
            "has expired",
            logout_token(&provider, "u-7", |c| c["exp"] = json!(unix_now() - 300)),
        ),
        (
            "names no sub",
            logout_token(&provider, "u-7", |c| {
                c.as_object_mut().expect("object").remove("sub");
            }),
        ),
    ] {
        let response = post_logout(&system, "corp", &token).await;
        assert_eq!(response.status(), 400, "{why}");
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body: Value = response.json().await.expect("json");
        assert!(
            body["error_description"].as_str().expect("text").contains(why),
            "{why}: {body}"
        );
    }
    let forged = TestKey::generate("corp-1")
        .signer()
        .sign(
            "logout+jwt",
            &json!({
                "iss": provider.issuer, "aud": CLIENT_ID, "iat": unix_now(), "jti": "x", "sub": "u-7",
                "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
            }),
        )
        .expect("sign");
    assert_eq!(post_logout(&system, "corp", &forged).await.status(), 400);
    assert_eq!(
        post_logout(&system, "nope", &logout_token(&provider, "u-7", |_| {}))
            .await
            .status(),
        400
    );
    assert!(
        account(first.get("/agent/account").await.text().await.expect("page")),
        "still signed in"
    );

    // The real one ends both of u-7's sessions.
    let response = post_logout(&system, "corp", &logout_token(&provider, "u-7", |_| {})).await;
    assert_eq!(response.status(), 200);
    for browser in [&mut first, &mut second] {
        let page = browser.get("/agent/account").await.text().await.expect("page");
        assert!(
            !account(page.clone()) && page.contains("Sign in with Corp SSO"),
            "{page}"
        );
    }

    // Signing out here offers the provider's end_session_endpoint (RP-initiated logout).
    let mut third = signed_in().await;
    let page = third.get("/agent/account").await.text().await.expect("page");
    let out = third.post("/agent/account/logout", &[("csrf", &csrf(&page))]).await;
    assert_eq!(out.status(), 200);
    let page = out.text().await.expect("page");
    let link = format!("href=\"{}/logout?client_id={CLIENT_ID}\"", provider.issuer);
    assert!(page.contains(&link), "{page}");
}

#[tokio::test]
async fn a_private_key_jwt_relying_party_authenticates_at_the_provider_without_a_secret() {
    use base64::Engine as _;
    let provider = Provider::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let der = base64::engine::general_purpose::STANDARD.encode(&rp_key().pkcs8);
    let pem = format!("-----BEGIN PRIVATE KEY-----\n{der}\n-----END PRIVATE KEY-----\n");
    let key_file = dir.path().join("rp-key.pem");
    std::fs::write(&key_file, pem).expect("key file");
    let (system, _secret_dir) = system_with(&provider, |corp| {
        corp.client_secret_file = None;
        corp.private_key_jwt = Some(identity_service::upstream::settings::PrivateKeyJwtSettings {
            key_file: key_file.clone(),
            alg: "ES256".into(),
            kid: "rp-1".into(),
        });
    })
    .await;
    let client = public_client(&system, "MCP client").await;
    let authorization = Authorization::new(&client);
    let (claims, key) = (
        provider.claims("", "u-1", "ada@corp.example", true),
        provider.key.signer(),
    );
    provider.answer(move |nonce: &str| key.sign("JWT", &with_nonce(&claims, nonce)).expect("sign"));
    let mut browser = Browser::new(&system);
    let (state, _) = go_upstream(&provider, &mut browser, &authorization).await;
    // The stand-in answers only a valid assertion by the registered key (no Basic).
    assert_eq!(
        come_back(&mut browser, &state, Some(&provider.issuer)).await.status(),
        200
    );
}

#[tokio::test]
async fn with_codes_off_and_one_provider_sign_in_goes_straight_there_asking_what_the_client_asked() {
    let provider = Provider::start().await;
    let (system, _dir) = system_with_codes(&provider, false, |_| {}).await;
    let client = public_client(&system, "MCP client").await;
    let authorization = Authorization::with(&client, &[("prompt", "login"), ("max_age", "300")]);
    let mut browser = Browser::new(&system);
    let straight = browser.authorize(&authorization).await;
    assert_eq!(straight.status(), 303, "no sign-in page: the provider");
    let location = straight.headers()["location"].to_str().expect("text").to_owned();
    assert!(
        location.starts_with(&format!("{}/authorize?", provider.issuer)),
        "{location}"
    );
    let params: std::collections::HashMap<String, String> = url::Url::parse(&location)
        .expect("url")
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(params["prompt"], "login", "prompt=login passed upstream");
    assert_eq!(params["max_age"], "300", "max_age passed upstream");
    // The ID token must then say when the person signed in, and recently enough.
    *provider.nonce.lock().expect("lock") = params["nonce"].clone();
    let (mut claims, key) = (
        provider.claims("", "u-1", "ada@corp.example", true),
        provider.key.signer(),
    );
    claims["auth_time"] = json!(unix_now() - 3600);
    provider.answer(move |nonce: &str| key.sign("JWT", &with_nonce(&claims, nonce)).expect("sign"));
    refused(
        come_back(&mut browser, &params["state"], Some(&provider.issuer)).await,
        "older than max_age",
    )
    .await;

    // Codes off means off: the account page's code form is gone, and posting it anyway
    // mails nothing and signs no one in.
    let mut browser = Browser::new(&system);
    let page = browser.get("/agent/account").await.text().await.expect("page");
    assert!(
        page.contains("Sign in with Corp SSO") && !page.contains("id=\"send\""),
        "{page}"
    );
    let sent = browser
        .post("/agent/account/login", &[("csrf", &csrf(&page)), ("email", EMAIL)])
        .await;
    refused(sent, "sign-in by emailed code is off").await;
    assert_eq!(
        std::fs::read_dir(system.outbox.path()).expect("outbox").count(),
        0,
        "no mail"
    );
}
