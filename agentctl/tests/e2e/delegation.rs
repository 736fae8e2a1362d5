//! Delegation (RFC 8693 token exchange) end to end: `agentctl clients create --may-act`
//! names who may act for an orchestrator, and oauth4webapi (npm) exchanges its token
//! through two actors; jose verifies the last token and reads its nested `act`; the
//! orchestrator revokes its own token and introspection sees the whole chain end. Then
//! `agentctl clients update --no-actors` takes the permission back. And the same for a
//! human's grant: a person (over HTTP, the sign-in code read from the outbox) allows an
//! orchestrator that registered itself with its own key, ticking "may hand this on";
//! it hands the token on twice, and the person's revoking the grant on `/agent/account`
//! ends all three.

use std::process::Command;

use serde_json::{Value, json};

use crate::helpers::{DevServer, describe, run, str_field};
use crate::stock_clients::{RESOURCE, clients_json, server_with_resource};
use crate::upstream::node_dir;

fn create(server: &DevServer, name: &str, more: &[&str]) -> (String, String) {
    let mut args = vec!["create", "--scope", "reports:read", "--name", name];
    args.extend_from_slice(more);
    let created = clients_json(server, &args);
    (
        str_field(&created, "client_id").to_owned(),
        str_field(&created, "client_secret").to_owned(),
    )
}

fn delegation_client(server: &DevServer, args: &[&str]) -> Value {
    let issuer = server.http.trim_end_matches('/');
    let output = run(Command::new("node")
        .current_dir(node_dir())
        .arg("delegation_client.mjs")
        .args([args[0], issuer, RESOURCE])
        .args(&args[1..]));
    assert!(output.status.success(), "delegation_client.mjs: {}", describe(&output));
    serde_json::from_slice(&output.stdout).expect("one JSON line")
}

#[test]
fn oauth4webapi_delegates_through_two_actors_and_the_chain_ends_with_its_root() {
    let dir = tempfile::tempdir().expect("dir");
    let server = server_with_resource(dir.path());
    let (researcher, researcher_secret) = create(&server, "researcher", &[]);
    let (summarizer, summarizer_secret) = create(&server, "summarizer", &[]);
    let (orchestrator, orchestrator_secret) = create(
        &server,
        "orchestrator",
        &["--introspect", "--may-act", &researcher, "--may-act", &summarizer],
    );
    let shown = clients_json(&server, &["show", &orchestrator]);
    assert_eq!(shown["may_act"], json!([researcher, summarizer]), "{shown}");

    let seen = delegation_client(
        &server,
        &[
            "chain",
            &orchestrator,
            &orchestrator_secret,
            &researcher,
            &researcher_secret,
            &summarizer,
            &summarizer_secret,
        ],
    );
    println!("oauth4webapi delegation: {seen}");
    let access_token = "urn:ietf:params:oauth:token-type:access_token";
    assert_eq!(seen["issued_token_type"], json!([access_token, access_token]));
    assert_eq!(seen["typ"], "at+jwt");
    assert_eq!(seen["scope"], "reports:read");
    assert_eq!(seen["claims"]["sub"], orchestrator.as_str());
    assert_eq!(seen["claims"]["aud"], RESOURCE);
    assert_eq!(
        seen["claims"]["act"],
        json!({
            "sub": summarizer, "client_id": summarizer,
            "act": { "sub": researcher, "client_id": researcher },
        })
    );
    assert_eq!(seen["claims"]["delegated_from"][0], seen["root_jti"]);
    assert_eq!(seen["active_before_revocation"], true);
    assert_eq!(seen["active_after_revocation"], json!([false, false, false]));

    // The permission taken back, the same hop is refused.
    let updated = clients_json(&server, &["update", &orchestrator, "--no-actors"]);
    assert_eq!(updated["may_act"], json!([]), "{updated}");
    let refused = delegation_client(
        &server,
        &[
            "once",
            &orchestrator,
            &orchestrator_secret,
            &researcher,
            &researcher_secret,
        ],
    );
    assert_eq!(
        refused,
        json!({ "refused": true, "status": 400, "error": "invalid_grant" })
    );
}

#[test]
fn a_human_lets_an_orchestrator_hand_their_grant_on_twice_and_revoking_it_ends_all_three() {
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("agentauth.toml");
    std::fs::write(&config, format!("[[protected_resources]]\nresource = \"{RESOURCE}\"\n")).expect("config file");
    let server = DevServer::start_with_env(&[("AGENTAUTH_CONFIG", config.to_str().expect("UTF-8 path"))]);
    let make = |name: &str, more: &[&str]| {
        let mut args = vec!["create", "--scope", "agent:read", "--name", name];
        args.extend_from_slice(more);
        let created = clients_json(&server, &args);
        (
            str_field(&created, "client_id").to_owned(),
            str_field(&created, "client_secret").to_owned(),
        )
    };
    let (researcher, researcher_secret) = make("researcher", &[]);
    let (summarizer, summarizer_secret) = make("summarizer", &[]);
    let (rs, rs_secret) = make("resource server", &["--introspect"]);
    let outbox = server.outbox.path().to_str().expect("UTF-8").to_owned();
    let seen = delegation_client(
        &server,
        &[
            "human",
            &outbox,
            &researcher,
            &researcher_secret,
            &summarizer,
            &summarizer_secret,
            &rs,
            &rs_secret,
        ],
    );
    println!("a human's grant, handed on twice: {seen}");
    let human = seen["claims"]["sub"].as_str().expect("sub");
    assert!(human.starts_with("usr_"), "the human's token: {seen}");
    assert!(seen["claims"]["grant_id"].is_string(), "{seen}");
    assert_eq!(seen["claims"]["aud"], RESOURCE);
    assert_eq!(seen["scope"], "agent:read");
    assert_eq!(
        seen["claims"]["act"],
        json!({
            "sub": summarizer, "client_id": summarizer,
            "act": { "sub": researcher, "client_id": researcher },
        })
    );
    assert_eq!(seen["active_before_revocation"], true);
    assert_eq!(
        seen["account_lists"],
        json!([true, true]),
        "the person's account page lists both hand-ons"
    );
    assert_eq!(
        seen["active_after_revocation"],
        json!([false, false, false]),
        "the human's token and both handed on"
    );
}
