//! MCP clients no one here wrote: the official MCP Python SDK's OAuth client
//! (`mcp.client.auth.OAuthClientProvider`, PyPI `mcp`) and the TypeScript SDK's (`auth`,
//! npm `@modelcontextprotocol/sdk`) each find agentauth from a protected MCP endpoint's
//! 401 alone and do discovery, dynamic client registration, the authorization code flow
//! with PKCE and `resource`, and a refresh, against `agentctl dev` (see
//! `mcp_oauth_client.py` and `node/mcp_client.mjs`).

use std::process::Command;

use serde_json::Value;

use crate::helpers::{DevServer, describe, run};

/// `agentctl dev` knowing the MCP endpoint at `port` as a protected resource.
fn server_for(dir: &std::path::Path, port: u16) -> DevServer {
    let resource = format!("http://127.0.0.1:{port}/mcp");
    let config = dir.join("agentauth.toml");
    std::fs::write(&config, format!("[[protected_resources]]\nresource = \"{resource}\"\n")).expect("config");
    DevServer::start_with_env(&[("AGENTAUTH_CONFIG", config.to_str().expect("UTF-8 path"))])
}

#[test]
fn the_mcp_typescript_sdk_registers_authorizes_and_refreshes() {
    let dir = tempfile::tempdir().expect("dir");
    let port = shared::testing::reserve_port();
    let server = server_for(dir.path(), port);
    let node = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/node");
    let output = run(Command::new("node")
        .current_dir(&node)
        .arg("mcp_client.mjs")
        .arg(&server.http)
        .arg(port.to_string())
        .arg(server.outbox.path()));
    assert!(output.status.success(), "mcp_client.mjs: {}", describe(&output));
    let seen: Value = serde_json::from_slice(&output.stdout).expect("one JSON line");
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
    let server = server_for(dir.path(), port);
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/mcp_oauth_client.py");
    let output = run(Command::new("python3")
        .arg(script)
        .arg(&server.http)
        .arg(port.to_string())
        .arg(server.outbox.path()));
    assert!(output.status.success(), "mcp_oauth_client.py: {}", describe(&output));
    let seen: Value = serde_json::from_slice(&output.stdout).expect("one JSON line");
    println!("MCP Python SDK: {seen}");
    assert!(
        seen["client_id"].as_str().is_some_and(|id| id.starts_with("cli_")),
        "registered by RFC 7591"
    );
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
