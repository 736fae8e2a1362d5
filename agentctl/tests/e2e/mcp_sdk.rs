//! MCP clients no one here wrote: the official MCP Python SDK's OAuth client
//! (`mcp.client.auth.OAuthClientProvider`, PyPI `mcp`) and the TypeScript SDK's (`auth`,
//! npm `@modelcontextprotocol/sdk`) each find agentauth from a protected MCP endpoint's
//! 401 alone and do discovery, dynamic client registration, the authorization code flow
//! with PKCE and `resource`, and a refresh, against `agentctl dev`; the Python SDK also
//! names itself by a client ID metadata document served over https instead (see
//! `mcp_oauth_client.py` and `node/mcp_client.mjs`).

use std::process::Command;

use serde_json::Value;

use crate::helpers::{DevServer, describe, run};

/// `agentctl dev` knowing the MCP endpoint at `port` as a protected resource, and
/// trusting `ca_file` for client metadata documents.
fn server_for(dir: &std::path::Path, port: u16, ca_file: Option<&std::path::Path>) -> DevServer {
    let resource = format!("http://127.0.0.1:{port}/mcp");
    let config = dir.join("agentauth.toml");
    let mut toml = format!("[[protected_resources]]\nresource = \"{resource}\"\n");
    if let Some(ca) = ca_file {
        toml.push_str(&format!(
            "\n[clients.metadata_documents]\nca_file = \"{}\"\n",
            ca.display()
        ));
    }
    std::fs::write(&config, toml).expect("config");
    DevServer::start_with_env(&[("AGENTAUTH_CONFIG", config.to_str().expect("UTF-8 path"))])
}

fn python_sdk(server: &DevServer, port: u16, extra: &[String]) -> Value {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/mcp_oauth_client.py");
    let output = run(Command::new("python3")
        .arg(script)
        .arg(&server.http)
        .arg(port.to_string())
        .arg(server.outbox.path())
        .args(extra));
    assert!(output.status.success(), "mcp_oauth_client.py: {}", describe(&output));
    serde_json::from_slice(&output.stdout).expect("one JSON line")
}

fn assert_authorized_and_refreshed(seen: &Value) {
    assert!(
        seen["first"]["sub"].as_str().is_some_and(|s| s.starts_with("usr_")),
        "a human's token"
    );
    assert_eq!(seen["first"]["scope"], "agent:read");
    assert_eq!(seen["second"]["sub"], seen["first"]["sub"]);
    assert_eq!(
        seen["refreshed"], true,
        "the SDK refreshed, and the refresh token rotated"
    );
    assert_eq!(seen["reuse_status"], 400);
    assert_eq!(seen["reuse_error"], "invalid_grant");
}

/// A private CA (its file, for the server to trust) and, from it, a certificate for
/// `localhost` where a client's metadata document is served: the arguments both SDK
/// scripts take for that (document port, certificate, key).
fn document_host(dir: &std::path::Path) -> (std::path::PathBuf, Vec<String>) {
    let pki = shared::pki::generate(&[("client-documents", &[])], "test", 1).expect("pki");
    let write = |name: &str, pem: &str| {
        let path = dir.join(name);
        std::fs::write(&path, pem).expect("write");
        path
    };
    let ca = write("ca.pem", &pki.ca.cert_pem);
    let cert = write("documents.pem", &pki.members[0].cert_pem);
    let key = write("documents-key.pem", &pki.members[0].key_pem);
    let text = |path: std::path::PathBuf| path.to_str().expect("UTF-8 path").to_owned();
    let args = vec![shared::testing::reserve_port().to_string(), text(cert), text(key)];
    (ca, args)
}

fn typescript_sdk(server: &DevServer, port: u16, extra: &[String]) -> Value {
    let node = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/node");
    let output = run(Command::new("node")
        .current_dir(&node)
        .arg("mcp_client.mjs")
        .arg(&server.http)
        .arg(port.to_string())
        .arg(server.outbox.path())
        .args(extra));
    assert!(output.status.success(), "mcp_client.mjs: {}", describe(&output));
    serde_json::from_slice(&output.stdout).expect("one JSON line")
}

#[test]
fn the_mcp_typescript_sdk_names_itself_by_a_client_id_metadata_document() {
    let dir = tempfile::tempdir().expect("dir");
    let (ca, document) = document_host(dir.path());
    let port = shared::testing::reserve_port();
    let server = server_for(dir.path(), port, Some(&ca));
    let seen = typescript_sdk(&server, port, &document);
    println!("MCP TypeScript SDK with a client ID metadata document: {seen}");
    assert_eq!(
        seen["client_id"], seen["document_url"],
        "no registration: the URL is the client id"
    );
    assert_eq!(seen["refreshed"], "AUTHORIZED");
    assert_eq!(seen["rotated"], true);
    assert_eq!(seen["reuse_error"], "invalid_grant");
}

#[test]
fn the_mcp_python_sdk_names_itself_by_a_client_id_metadata_document() {
    let dir = tempfile::tempdir().expect("dir");
    let (ca, document) = document_host(dir.path());
    let port = shared::testing::reserve_port();
    let server = server_for(dir.path(), port, Some(&ca));
    let seen = python_sdk(&server, port, &document);
    println!("MCP Python SDK with a client ID metadata document: {seen}");
    assert_eq!(
        seen["client_id"], seen["document_url"],
        "no registration: the URL is the client id"
    );
    assert_authorized_and_refreshed(&seen);
}

#[test]
fn the_mcp_typescript_sdk_registers_authorizes_and_refreshes() {
    let dir = tempfile::tempdir().expect("dir");
    let port = shared::testing::reserve_port();
    let server = server_for(dir.path(), port, None);
    let seen = typescript_sdk(&server, port, &[]);
    println!("MCP TypeScript SDK: {seen}");
    assert_eq!(seen["unauthorized"], 401);
    assert_eq!(seen["started"], "REDIRECT");
    assert_eq!(seen["authorized"], "AUTHORIZED");
    assert_eq!(seen["refreshed"], "AUTHORIZED");
    assert_eq!(seen["iss"], server.http.as_str(), "RFC 9207");
    assert!(
        seen["client_id"].as_str().is_some_and(|id| id.starts_with("cli_")),
        "registered by RFC 7591"
    );
    assert!(
        seen["first"]["sub"].as_str().is_some_and(|s| s.starts_with("usr_")),
        "a human's token"
    );
    assert_eq!(seen["second"]["sub"], seen["first"]["sub"]);
    assert_eq!(seen["rotated"], true);
    assert_eq!(seen["reuse_status"], 400);
    assert_eq!(seen["reuse_error"], "invalid_grant");
}

#[test]
fn the_mcp_python_sdk_registers_authorizes_and_refreshes() {
    let dir = tempfile::tempdir().expect("dir");
    let port = shared::testing::reserve_port();
    let server = server_for(dir.path(), port, None);
    let seen = python_sdk(&server, port, &[]);
    println!("MCP Python SDK: {seen}");
    assert!(
        seen["client_id"].as_str().is_some_and(|id| id.starts_with("cli_")),
        "registered by RFC 7591"
    );
    assert_authorized_and_refreshed(&seen);
}
