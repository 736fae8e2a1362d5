//! `agentctl dev` given addresses it cannot use exits at once, saying which and why; a
//! running one stops promptly and cleanly on SIGTERM.

use std::net::TcpListener;

use std::time::Duration;

use crate::helpers::{DevServer, agentctl, describe, run};

fn dev_fails_with(http: &str, grpc: &str, message: &str) {
    let output = run(agentctl().args(["dev", "--http", http, "--grpc", grpc]));

    assert!(!output.status.success(), "{}", describe(&output));
    assert!(output.stdout.is_empty(), "no banner on failure: {}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains(message),
        "expected `{message}` on stderr: {}",
        describe(&output)
    );
}

#[test]
fn dev_rejects_an_http_address_that_is_not_host_port() {
    dev_fails_with(
        "not-an-address",
        "127.0.0.1:0",
        "bad listen address `not-an-address`: expected host:port",
    );
}

#[test]
fn dev_rejects_a_grpc_port_out_of_range() {
    dev_fails_with("127.0.0.1:0", "127.0.0.1:65536", "bad listen address `127.0.0.1:65536`");
}

#[test]
fn dev_reports_an_http_port_already_in_use() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    let address = taken.local_addr().expect("a bound listener has an address").to_string();

    dev_fails_with(
        &address,
        "127.0.0.1:0",
        &format!("cannot bind http listener on {address}"),
    );
}

#[test]
fn dev_drains_and_exits_cleanly_on_sigterm() {
    let server = DevServer::start();
    let (status, took) = server.terminate();
    assert!(status.success(), "exit status {status}");
    // Far below the 20 s grace period: nothing in flight, and the key streams between
    // the services end when draining starts instead of holding the drain open.
    assert!(took < Duration::from_secs(5), "took {took:?}");
}
