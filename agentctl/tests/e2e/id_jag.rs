//! MCP enterprise-managed authorization end to end: the official MCP TypeScript SDK's
//! `CrossAppAccessProvider` (@modelcontextprotocol/client, from npm) gets an ID-JAG from
//! a real company IdP (panva's oidc-provider, its own key, RFC 8693 token exchange) and
//! trades it at `agentauth dev` for a token its MCP endpoint verifies with jose.
//!
//! The operator's order is the real one: `agentctl dev` on Redis registers the MCP
//! client, then restarts with the IdP's policy naming that client.

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use serde_json::{Value, json};
use shared::testing::RedisServer;

use crate::clients::create_client;
use crate::helpers::{DevServer, describe, run};
use crate::upstream::{node_dir, protocol_secret, start_idp};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

#[test]
fn the_mcp_typescript_sdk_trades_the_company_idps_id_jag_for_a_token() {
    assert!(
        node_dir().join("node_modules/@modelcontextprotocol/client").exists(),
        "run `npm ci` in {} (.ci/test does)",
        node_dir().display()
    );
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().expect("dir");
    let kek = dir.path().join("kek");
    std::fs::write(
        &kek,
        base64::engine::general_purpose::STANDARD.encode(protocol::secrets::random_bytes(32)),
    )
    .expect("kek file");
    let (http, idp_port, mcp_port) = (free_port(), free_port(), free_port());
    let listen = format!("127.0.0.1:{http}");
    let redis_url = redis.url();
    let args = [
        "--http",
        &listen,
        "--redis-url",
        &redis_url,
        "--kek-file",
        kek.to_str().expect("UTF-8"),
    ];

    // A store that outlives the process needs a pepper that does too (client secrets
    // are kept as keyed hashes).
    let pepper = dir.path().join("pepper");
    std::fs::write(&pepper, protocol::secrets::random_token(32)).expect("pepper file");
    let pepper = pepper.to_str().expect("UTF-8");

    // The operator registers the MCP client first…
    let first = DevServer::start_with(&args, &[("AGENTAUTH__HASH_PEPPER__FILE", pepper)]);
    let client = create_client(&first, &["tickets:read", "tickets:write"]);
    drop(first);

    // …then names it in the company IdP's policy, which grants reading only.
    let idp = format!("http://127.0.0.1:{idp_port}");
    let resource = format!("http://127.0.0.1:{mcp_port}/mcp");
    let sign_in_secret = protocol_secret();
    let secret_file = dir.path().join("corp-client-secret");
    std::fs::write(&secret_file, &sign_in_secret).expect("secret file");
    let config = dir.path().join("agentauth.toml");
    std::fs::write(
        &config,
        format!(
            "[[humans.identity_providers]]\nid = \"corp\"\ndisplay_name = \"Corp SSO\"\n\
             issuer = \"{idp}\"\nclient_id = \"agentauth\"\nclient_secret_file = \"{}\"\n\n\
             [[protected_resources]]\nresource = \"{resource}\"\n\
             scopes_supported = [\"tickets:read\", \"tickets:write\"]\n\n\
             [[token_endpoint.id_jag.issuers]]\nissuer = \"{idp}\"\njwks_uri = \"{idp}/jwks\"\n\
             allowed_clients = [\"{}\"]\nmax_scopes = [\"tickets:read\"]\n",
            secret_file.display(),
            client.id
        ),
    )
    .expect("config");
    let server = DevServer::start_with(
        &args,
        &[
            ("AGENTAUTH_CONFIG", config.to_str().expect("UTF-8")),
            ("AGENTAUTH__HASH_PEPPER__FILE", pepper),
        ],
    );
    let issuer = server.http.trim_end_matches('/').to_owned();
    let idp_client_secret = protocol_secret();
    let (_idp, announced) = start_idp(
        idp_port,
        &[
            &format!("{issuer}/agent/sign-in/callback"),
            &sign_in_secret,
            &idp_client_secret,
            &client.id,
        ],
    );
    assert_eq!(announced["issuer"], idp);

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/node/id_jag_client.mjs");
    let output = run(Command::new("node").current_dir(node_dir()).arg(script).args([
        &issuer,
        &mcp_port.to_string(),
        &idp,
        &idp_client_secret,
        &client.id,
        &client.secret,
        "ada",
    ]));
    assert!(output.status.success(), "id_jag_client.mjs: {}", describe(&output));
    let seen: Value = serde_json::from_slice(&output.stdout).expect("one JSON line");
    println!("MCP TypeScript SDK, cross-app access: {seen}");

    assert_eq!(seen["idp_pages"], json!(["login", "consent"]), "{seen}");
    assert_eq!(seen["unauthorized"], 401);
    assert_eq!(seen["authorized"], "AUTHORIZED", "{seen}");
    // The ID-JAG as the IdP issued it (draft -04 §4.3).
    assert_eq!(seen["id_jag_header"]["typ"], "oauth-id-jag+jwt");
    assert_eq!(seen["id_jag"]["iss"], idp);
    assert_eq!(seen["id_jag"]["aud"], issuer);
    assert_eq!(seen["id_jag"]["client_id"], client.id.as_str());
    assert_eq!(seen["id_jag"]["resource"], resource);
    assert_eq!(seen["id_jag"]["scope"], "tickets:read tickets:write");
    assert_eq!(seen["id_jag"]["sub"], "ada");
    // The token, verified by the MCP endpoint with jose: for this resource and client,
    // for the human (not the IdP's own id), narrowed by the IdP's policy, no refresh.
    assert_eq!(seen["token_type"], "Bearer");
    assert_eq!(seen["token_scope"], "tickets:read");
    assert_eq!(seen["seen"]["scope"], "tickets:read", "{seen}");
    assert_eq!(seen["seen"]["client_id"], client.id.as_str());
    let human = seen["seen"]["sub"].as_str().expect("sub");
    assert!(human.starts_with("usr_"), "the human: {human}");
    assert_eq!(seen["refresh_token"], Value::Null);
    assert_eq!(seen["id_jags"], 1, "one ID-JAG, one token");
    // The same ID-JAG again: spent.
    assert_eq!(seen["replay_status"], 400);
    assert_eq!(seen["replay_error"], "invalid_grant");
}
