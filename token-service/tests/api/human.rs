//! A human at the authorization endpoint, driven over HTTP the way a browser does it:
//! one session cookie, redirects not followed (the test reads them), the sign-in code
//! read from the development outbox.

use std::path::Path;

use protocol::oauth::pkce::CodeChallenge;
use serde_json::{Value, json};

use crate::helpers::{TestClient, TestSystem, memory, spawn_all};

pub const RESOURCE: &str = "https://mcp.example.com/mcp";
pub const REDIRECT: &str = "http://127.0.0.1:33418/callback";
pub const EMAIL: &str = "ada@example.com";

/// The three services, with one protected resource (an MCP server) both know.
pub async fn spawn_mcp() -> TestSystem {
    spawn_mcp_on(memory()).await
}

/// [`spawn_mcp`] on `store`.
pub async fn spawn_mcp_on(store: shared::settings::StoreSettings) -> TestSystem {
    spawn_mcp_with(store, |_| {}).await
}

/// [`spawn_mcp_on`], identity-service's settings adjusted by `tweak`.
pub async fn spawn_mcp_with(
    store: shared::settings::StoreSettings,
    tweak: impl FnOnce(&mut identity_service::settings::Settings),
) -> TestSystem {
    let resource = || protocol::oauth::ProtectedResource {
        resource: RESOURCE.into(),
        scopes_supported: Vec::new(),
        resource_name: Some("MCP server".into()),
    };
    spawn_all(
        store,
        |_| {},
        |identity| {
            identity.protected_resources = vec![resource()];
            tweak(identity);
        },
        |token| token.protected_resources = vec![resource()],
    )
    .await
}

/// A public client registered the way MCP clients fall back to (RFC 7591).
pub async fn public_client(system: &TestSystem, name: &str) -> String {
    let response = system
        .http
        .post(system.token_url("/oauth2/register"))
        .json(&json!({
            "client_name": name,
            "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "none",
            "scope": "agent:read agent:write",
        }))
        .send()
        .await
        .expect("token-service reachable");
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.expect("json");
    body["client_id"].as_str().expect("client_id").to_owned()
}

/// An authorization request a client would build: PKCE S256, `state`, the resource.
pub struct Authorization {
    pub client_id: String,
    pub verifier: String,
    pub state: String,
    pub query: String,
}

impl Authorization {
    pub fn new(client_id: &str) -> Self {
        Self::with(client_id, &[])
    }

    /// With `extra` parameters added (or, given an empty value, the default removed).
    pub fn with(client_id: &str, extra: &[(&str, &str)]) -> Self {
        let verifier = protocol::secrets::random_token(48);
        let state = protocol::secrets::random_token(12);
        let challenge = CodeChallenge::s256_of(&verifier);
        let defaults = [
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("scope", "agent:read"),
            ("state", state.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("resource", RESOURCE),
        ];
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in defaults {
            if !extra.iter().any(|(n, _)| *n == name) {
                query.append_pair(name, value);
            }
        }
        for (name, value) in extra.iter().filter(|(_, v)| !v.is_empty()) {
            query.append_pair(name, value);
        }
        Self {
            client_id: client_id.to_owned(),
            verifier,
            state,
            query: query.finish(),
        }
    }
}

/// One browser: its cookie jar holds the one session cookie.
pub struct Browser {
    http: reqwest::Client,
    base: String,
    pub cookie: Option<String>,
}

impl Browser {
    pub fn new(system: &TestSystem) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: system.identity_url(""),
            cookie: None,
        }
    }

    fn keep_cookie(&mut self, response: &reqwest::Response) {
        if let Some(set) = response.headers().get("set-cookie").and_then(|v| v.to_str().ok()) {
            let pair = set.split(';').next().unwrap_or_default().to_owned();
            self.cookie = Some(pair);
        }
    }

    pub async fn get(&mut self, path: &str) -> reqwest::Response {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.expect("identity reachable");
        self.keep_cookie(&response);
        response
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self.http.post(format!("{}{path}", self.base)).form(form);
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.expect("identity reachable");
        self.keep_cookie(&response);
        response
    }

    pub async fn authorize(&mut self, authorization: &Authorization) -> reqwest::Response {
        self.get(&format!("/oauth2/authorize?{}", authorization.query)).await
    }
}

/// The page's CSRF token.
pub fn csrf(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a CSRF field") + marker.len();
    html[start..].split('"').next().expect("value").to_owned()
}

/// The sign-in code in the newest message of the outbox.
pub fn latest_code(outbox: &Path) -> String {
    let mut paths: Vec<_> = std::fs::read_dir(outbox)
        .expect("outbox")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    paths.sort();
    let message = std::fs::read_to_string(paths.last().expect("a message")).expect("readable");
    let after = &message[message.find("is:").expect("the code line")..];
    after
        .split_whitespace()
        .find(|word| word.len() == 6 && word.bytes().all(|b| b.is_ascii_digit()))
        .expect("a 6-digit code")
        .to_owned()
}

/// Opens the login page the authorization request shows and asks for a code for
/// `email`; the code page's CSRF token.
pub async fn send_code(browser: &mut Browser, authorization: &Authorization, email: &str) -> String {
    let login = browser.authorize(authorization).await;
    assert_eq!(login.status(), 200);
    let token = csrf(&login.text().await.expect("page"));
    let sent = browser
        .post(
            "/oauth2/authorize/login",
            &[("request", &authorization.query), ("csrf", &token), ("email", email)],
        )
        .await;
    assert_eq!(sent.status(), 200);
    csrf(&sent.text().await.expect("page"))
}

/// Signs in as `email` from the login page the authorization request showed; returns
/// the response to the code (the consent page, or a redirect when consent stands).
pub async fn sign_in(
    system: &TestSystem,
    browser: &mut Browser,
    authorization: &Authorization,
    email: &str,
) -> reqwest::Response {
    let token = send_code(browser, authorization, email).await;
    let code = latest_code(system.outbox.path());
    browser
        .post(
            "/oauth2/authorize/verify",
            &[("request", &authorization.query), ("csrf", &token), ("code", &code)],
        )
        .await
}

/// Answers the consent page `page` (its HTML) with `decision`.
pub async fn decide(
    browser: &mut Browser,
    authorization: &Authorization,
    page: &str,
    decision: &str,
) -> reqwest::Response {
    let token = csrf(page);
    browser
        .post(
            "/oauth2/authorize/consent",
            &[
                ("request", &authorization.query),
                ("csrf", &token),
                ("decision", decision),
            ],
        )
        .await
}

/// The query of a redirect's `Location`, by name.
pub fn redirect_params(response: &reqwest::Response) -> std::collections::HashMap<String, String> {
    assert_eq!(response.status(), 303, "a redirect to the client");
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("Location");
    assert!(location.starts_with(REDIRECT), "{location}");
    url::Url::parse(location)
        .expect("absolute")
        .query_pairs()
        .into_owned()
        .collect()
}

/// A full authorization: sign in, and allow unless consent is remembered; the code.
pub async fn authorize_fully(system: &TestSystem, browser: &mut Browser, authorization: &Authorization) -> String {
    let consent = sign_in(system, browser, authorization, EMAIL).await;
    if consent.status() == 303 {
        return redirect_params(&consent)["code"].clone();
    }
    assert_eq!(consent.status(), 200);
    let page = consent.text().await.expect("page");
    let back = decide(browser, authorization, &page, "allow").await;
    redirect_params(&back)["code"].clone()
}

/// The token request of a public client redeeming `code`.
pub async fn redeem(
    system: &TestSystem,
    authorization: &Authorization,
    code: &str,
    verifier: &str,
) -> reqwest::Response {
    system
        .post_form(
            "/oauth2/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("client_id", &authorization.client_id),
                ("redirect_uri", REDIRECT),
                ("code_verifier", verifier),
            ],
        )
        .await
}

/// What introspection, asked by `resource_server`, says of `token`.
pub async fn active(system: &TestSystem, resource_server: &TestClient, token: &str) -> bool {
    let response = system
        .post_form(
            "/oauth2/introspect",
            &[
                ("token", token),
                ("client_id", &resource_server.id),
                ("client_secret", &resource_server.secret),
            ],
        )
        .await;
    response.json::<Value>().await.expect("json")["active"] == true
}

/// The human revokes grant `id` from their account page `page` (its HTML).
pub async fn revoke_on_account(browser: &mut Browser, page: &str, id: &str) {
    let back = revoke_kind_on_account(browser, page, "grant", id).await;
    assert_eq!(back.status(), 303, "the account page takes the revocation");
}

/// The account page's revoke form for `kind` (`grant`, `registration`, `delegation`).
pub async fn revoke_kind_on_account(browser: &mut Browser, page: &str, kind: &str, id: &str) -> reqwest::Response {
    browser
        .post(
            "/agent/account/revoke",
            &[("csrf", csrf(page).as_str()), ("kind", kind), ("id", id)],
        )
        .await
}
