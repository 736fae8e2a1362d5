//! Sign-in at a company's identity provider end to end: `agentctl dev` as the relying
//! party of a real OpenID Provider (panva's oidc-provider, from npm, with its own key
//! and its development login and consent forms), a person at a browser (requests)
//! authorizing a public OAuth client through it, the account page naming it, and
//! signing out at the provider ending the session here (back-channel logout).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use crate::browser::Browser;
use crate::helpers::{DevServer, describe, run};

const REDIRECT: &str = "http://127.0.0.1:33418/callback";

pub(crate) fn node_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/node")
}

/// The provider's process, stopped when dropped.
pub(crate) struct Idp(Child);

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `company_idp.mjs` on `port` (its arguments after `port`: `args`), once it listens.
pub(crate) fn start_idp(port: u16, args: &[&str]) -> (Idp, Value) {
    assert!(
        node_dir().join("node_modules/oidc-provider").exists(),
        "run `npm ci` in {} (.ci/test does)",
        node_dir().display()
    );
    let mut child = Command::new("node")
        .current_dir(node_dir())
        .args(["company_idp.mjs", &port.to_string()])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node runs");
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    out.read_line(&mut line).expect("the provider says where it listens");
    // Whatever else it prints is drained, so a closed pipe never stops it.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let announced: Value = serde_json::from_str(&line).expect("one JSON line");
    (Idp(child), announced)
}

/// `agentctl dev` as the relying party of a running oidc-provider ("Corp SSO", id
/// `corp`), linking verified addresses.
fn dev_with_company_idp() -> (DevServer, Idp, tempfile::TempDir) {
    dev_with_company_idp_and("")
}

/// [`dev_with_company_idp`], with `more` settings (TOML) beside the provider's.
fn dev_with_company_idp_and(more: &str) -> (DevServer, Idp, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let secret = protocol_secret();
    let secret_file = dir.path().join("corp-client-secret");
    std::fs::write(&secret_file, &secret).expect("secret file");
    let config = dir.path().join("agentauth.toml");
    std::fs::write(
        &config,
        format!(
            "[[humans.identity_providers]]\nid = \"corp\"\ndisplay_name = \"Corp SSO\"\n\
             issuer = \"http://127.0.0.1:{port}\"\nclient_id = \"agentauth\"\n\
             client_secret_file = \"{}\"\nlink_by_verified_email = true\n{more}",
            secret_file.display()
        ),
    )
    .expect("config");
    let server = DevServer::start_with_env(&[("AGENTAUTH_CONFIG", config.to_str().expect("UTF-8"))]);
    let base = server.http.trim_end_matches('/').to_owned();
    let (idp, announced) = start_idp(port, &[&format!("{base}/agent/sign-in/callback"), &secret]);
    assert_eq!(announced["issuer"], format!("http://127.0.0.1:{port}"));

    (server, idp, dir)
}

#[test]
fn a_person_signs_in_at_the_company_provider_for_an_oauth_client() {
    let (server, _idp, _dir) = dev_with_company_idp();
    let base = server.http.trim_end_matches('/').to_owned();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/upstream_browser.py");
    let output = run(Command::new("python3")
        .arg(script)
        .args([&base, REDIRECT, "corp", "ada"]));
    assert!(output.status.success(), "upstream_browser.py: {}", describe(&output));
    let result: Value = serde_json::from_slice(&output.stdout).expect("one JSON line");
    println!("signed in at oidc-provider: {result}");
    assert!(
        result["sub"].as_str().is_some_and(|s| s.starts_with("usr_")),
        "{result}"
    );
    assert_eq!(result["client_id"], result["registered_client_id"], "{result}");
    assert_eq!(result["scope"], "agent:read");
    assert_eq!(result["account_signed_in_with"], "with Corp SSO");
    assert_eq!(result["account_email"], true);
    assert_eq!(result["provider_pages"], json!(["login", "consent"]), "{result}");
    assert_eq!(
        result["signed_out_by_provider"], true,
        "signing out at the provider ended the session here (back-channel logout): {result}"
    );
}

pub(crate) fn protocol_secret() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    format!(
        "corp-secret-{}",
        SystemTime::now().duration_since(UNIX_EPOCH).expect("time").as_nanos()
    )
}

/// Where the screenshots of the pages go: a test artifact under `target/`.
fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

#[tokio::test]
async fn chromium_signs_in_through_the_company_providers_own_pages() {
    let (server, _idp, _dir) = dev_with_company_idp();
    let base = server.http.trim_end_matches('/').to_owned();
    let (port, callbacks) = crate::authorize_browser::callback_server();
    let redirect_uri = format!("http://127.0.0.1:{port}/callback");
    let registered: Value = reqwest::Client::new()
        .post(format!("{base}/oauth2/register"))
        .json(&json!({
            "client_name": "Browser Test Client", "redirect_uris": [redirect_uri],
            "token_endpoint_auth_method": "none", "grant_types": ["authorization_code"],
        }))
        .send()
        .await
        .expect("reachable")
        .json()
        .await
        .expect("json");
    let client_id = registered["client_id"].as_str().expect("client_id");
    let verifier = protocol::secrets::random_token(48);
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", "agent:read")
        .append_pair("state", "s-1")
        .append_pair(
            "code_challenge",
            &protocol::oauth::pkce::CodeChallenge::s256_of(&verifier),
        )
        .append_pair("code_challenge_method", "S256")
        .finish();

    let shots = screenshots();
    let browser = Browser::launch().await;
    browser.open(&format!("{base}/oauth2/authorize?{query}")).await;
    browser.find("#provider-corp").await;
    browser.screenshot(&shots.join("sign-in.png")).await;
    // Our CSP's form-action lets this form's redirect go to the provider.
    browser.click("#provider-corp").await;
    browser.find("input[name=login]").await;
    browser.screenshot(&shots.join("provider-login.png")).await;
    // The provider's login, then its consent form (its `prompt` field says so), then
    // back to us.
    at_provider(&browser, "ada", Some(&shots)).await;
    assert_eq!(browser.text("#client").await, "Browser Test Client");
    browser.screenshot(&shots.join("consent.png")).await;
    browser.click("#allow").await;
    assert_eq!(
        browser.text("#done").await,
        "signed in",
        "the browser reached the client"
    );
    let target = callbacks.recv().expect("the redirect reached the client");
    assert!(target.contains("code=") && target.contains("state=s-1"), "{target}");

    browser.open(&format!("{base}/agent/account")).await;
    assert_eq!(browser.text("#signed-in-with").await, "with Corp SSO");
    browser.find("#no-agents").await;
    browser.screenshot(&shots.join("account.png")).await;
    browser.close().await;
    for page in ["sign-in", "provider-login", "provider-consent", "consent", "account"] {
        let path = shots.join(format!("{page}.png"));
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        assert!(size > 1000, "{} is a screenshot", path.display());
        println!("screenshot: {} ({size} bytes)", path.display());
    }
}

#[test]
fn the_mcp_python_sdk_authorizes_while_the_person_signs_in_at_the_company_provider() {
    let port = shared::testing::reserve_port();
    let resource = format!("\n[[protected_resources]]\nresource = \"http://127.0.0.1:{port}/mcp\"\n");
    let (server, _idp, _dir) = dev_with_company_idp_and(&resource);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/mcp_oauth_client.py");
    let output = run(Command::new("python3")
        .env("UPSTREAM_PROVIDER", "corp")
        .arg(script)
        .arg(&server.http)
        .arg(port.to_string())
        .arg(server.outbox.path()));
    assert!(output.status.success(), "mcp_oauth_client.py: {}", describe(&output));
    let seen: Value = serde_json::from_slice(&output.stdout).expect("one JSON line");
    println!("MCP Python SDK, the person signed in at oidc-provider: {seen}");
    assert!(
        seen["first"]["sub"].as_str().is_some_and(|s| s.starts_with("usr_")),
        "{seen}"
    );
    assert_eq!(seen["second"]["sub"], seen["first"]["sub"]);
    assert_eq!(seen["refreshed"], true, "{seen}");
    assert_eq!(
        std::fs::read_dir(server.outbox.path()).expect("outbox").count(),
        0,
        "no code was mailed: the person signed in at the provider"
    );
}

/// Through the provider's login and consent pages, as `person`, back to us.
async fn at_provider(browser: &Browser, person: &str, shots: Option<&Path>) {
    browser.type_into("input[name=login]", person).await;
    browser.type_into("input[name=password]", "any").await;
    browser.click("button[type=submit]").await;
    browser.find("input[name=prompt][value=consent]").await;
    if let Some(shots) = shots {
        browser.screenshot(&shots.join("provider-consent.png")).await;
    }
    browser.click("button[type=submit]").await;
}

#[tokio::test]
async fn a_claim_completes_when_the_company_provider_signs_in_the_named_address() {
    use crate::claim_browser::{exchange, post_json};
    let (server, _idp, _dir) = dev_with_company_idp();
    let http = reqwest::Client::new();
    let base = server.http.trim_end_matches('/').to_owned();
    let registered = post_json(&http, &format!("{base}/agent/identity"), json!({"type": "anonymous"})).await;
    let assertion = registered["identity_assertion"].as_str().expect("assertion");
    let claim_token = registered["claim_token"].as_str().expect("claim token");
    let claim = json!({"claim_token": claim_token, "email": "ada@corp.example"});
    post_json(&http, &format!("{base}/agent/identity/claim"), claim).await;
    let link = crate::outbox::only_claim_link(server.outbox.path());

    let shots = screenshots();
    let browser = Browser::launch().await;
    // Someone else's account at the provider: not the address the agent named.
    browser.open(&link).await;
    browser.click("#provider-corp").await;
    at_provider(&browser, "mallory", None).await;
    // Waits for our page: the provider's redirect back may still be under way.
    let refused = browser.text("#error").await;
    assert!(refused.contains("not the verified owner"), "refused: {refused}");
    // Ada's: the code.
    browser.open(&link).await;
    browser.find("#provider-corp").await;
    browser.screenshot(&shots.join("claim.png")).await;
    browser.click("#provider-corp").await;
    at_provider(&browser, "ada", None).await;
    let code = browser.text("#otp").await;
    browser.screenshot(&shots.join("claim-code.png")).await;
    browser.close().await;
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "{code:?}");

    let completion = json!({"claim_token": claim_token, "otp": code});
    let claimed = post_json(&http, &format!("{base}/agent/identity/claim/complete"), completion).await;
    assert_eq!(claimed["status"], "claimed");
    let token = exchange(&http, &base, assertion).await;
    assert_eq!(token["scope"], "agent:read agent:write", "the claim lifted the scopes");
}
