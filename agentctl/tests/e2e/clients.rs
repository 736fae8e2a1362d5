//! `agentctl clients create` against a running `agentctl dev`, and the client it makes
//! used over HTTP: client_credentials with HTTP Basic, and introspection.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{DevServer, agentctl, describe, run, run_within, str_field};

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// How long an operator may wait to learn token-service is not there.
const UNREACHABLE_REPORTED_WITHIN: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub(crate) struct MachineClient {
    pub(crate) id: String,
    pub(crate) secret: String,
}

/// `agentctl clients create` with `scopes`, allowed to introspect, against `server`.
pub(crate) fn create_client(server: &DevServer, scopes: &[&str]) -> MachineClient {
    let mut command = agentctl();
    command.args(["clients", "create"]);
    for scope in scopes {
        command.args(["--scope", scope]);
    }
    let output = run(command.args([
        "--name",
        "e2e",
        "--introspect",
        "--token-grpc",
        &server.grpc,
        "--tls-dir",
        server.tls.path().to_str().expect("UTF-8 path"),
    ]));
    assert!(output.status.success(), "clients create failed: {}", describe(&output));
    let stdout = String::from_utf8(output.stdout).expect("agentctl prints UTF-8");
    let field = |name: &str| {
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .map(|value| value.trim().to_owned())
            .unwrap_or_else(|| panic!("no `{name}` line in {stdout}"))
    };
    assert_eq!(field("scopes:"), scopes.join(" "));
    MachineClient {
        id: field("client_id:"),
        secret: field("client_secret:"),
    }
}

/// A port nothing listens on: bound by the OS, then released.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("a bound listener has an address").port()
}

async fn json_body(response: reqwest::Response) -> Value {
    response.json().await.expect("the response body is JSON")
}

/// Registers an anonymous agent and exchanges its identity assertion for an access token.
async fn agent_access_token(http: &reqwest::Client, base: &str) -> (String, String) {
    let response = http
        .post(format!("{base}/agent/identity"))
        .json(&json!({ "type": "anonymous" }))
        .send()
        .await
        .expect("POST /agent/identity");
    assert_eq!(response.status(), StatusCode::OK);
    let registration = json_body(response).await;
    let form = [
        ("grant_type", JWT_BEARER),
        ("assertion", str_field(&registration, "identity_assertion")),
    ];
    let response = http
        .post(format!("{base}/oauth2/token"))
        .form(&form)
        .send()
        .await
        .expect("POST /oauth2/token");
    assert_eq!(response.status(), StatusCode::OK);
    let token = json_body(response).await;
    (
        str_field(&registration, "registration_id").to_owned(),
        str_field(&token, "access_token").to_owned(),
    )
}

#[tokio::test]
async fn created_client_gets_a_client_credentials_token_with_basic_auth() {
    let server = DevServer::start();
    let client = create_client(&server, &["agent:read"]);

    let response = reqwest::Client::new()
        .post(format!("{}/oauth2/token", server.http))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("POST /oauth2/token");

    assert_eq!(response.status(), StatusCode::OK);
    // RFC 6749 §5.1: token responses must not be cached.
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert!(header("cache-control").is_some_and(|v| v.contains("no-store")));
    assert_eq!(header("pragma").as_deref(), Some("no-cache"));
    let token = json_body(response).await;
    assert_eq!(str_field(&token, "scope"), "agent:read");
    assert_eq!(str_field(&token, "token_type"), "Bearer");
}

#[tokio::test]
async fn created_client_introspects_an_agent_access_token() {
    let server = DevServer::start();
    let client = create_client(&server, &["agent:read"]);
    let http = reqwest::Client::new();
    let (registration_id, access_token) = agent_access_token(&http, &server.http).await;
    let introspect = || {
        http.post(format!("{}/oauth2/introspect", server.http))
            .form(&[("token", access_token.as_str())])
    };

    let response = introspect()
        .basic_auth(&client.id, Some(&client.secret))
        .send()
        .await
        .expect("POST /oauth2/introspect");
    assert_eq!(response.status(), StatusCode::OK);
    let introspection = json_body(response).await;
    assert_eq!(introspection["active"], json!(true), "{introspection}");
    assert_eq!(str_field(&introspection, "sub"), registration_id);

    let anonymous = introspect().send().await.expect("POST /oauth2/introspect");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn clients_create_without_a_scope_fails() {
    let unused = format!("http://127.0.0.1:{}", closed_port());
    let output = run(agentctl().args(["clients", "create", "--token-grpc", &unused]));

    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--scope"),
        "{}",
        describe(&output)
    );
}

#[test]
fn clients_create_reports_an_unreachable_token_service_promptly() {
    let closed = format!("http://127.0.0.1:{}", closed_port());
    let started = Instant::now();
    let output = run_within(
        agentctl().args(["clients", "create", "--scope", "agent:read", "--token-grpc", &closed]),
        UNREACHABLE_REPORTED_WITHIN,
    );

    assert!(started.elapsed() < UNREACHABLE_REPORTED_WITHIN);
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        output.stdout.is_empty(),
        "no client may be printed: {}",
        describe(&output)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot reach token-service"), "{}", describe(&output));
    assert!(
        stderr.contains(&closed),
        "the message names the address: {}",
        describe(&output)
    );
}
