//! `agentctl keys list|rotate|rewrap` against a running `agentctl dev`.

use crate::helpers::{DevServer, agentctl, describe, run};

fn keys(server: &DevServer, args: &[&str]) -> String {
    let output = run(agentctl()
        .arg("keys")
        .args(args)
        .args(["--jwks-grpc", &server.grpc, "--tls-dir"])
        .arg(server.tls.path()));
    assert!(output.status.success(), "agentctl keys {args:?}: {}", describe(&output));
    String::from_utf8(output.stdout).expect("UTF-8")
}

/// `(kid, state)` of every listed key.
fn listed(server: &DevServer) -> Vec<(String, String)> {
    keys(server, &["list"])
        .lines()
        .skip(1)
        .map(|line| {
            let mut columns = line.split_whitespace();
            let kid = columns.next().expect("kid").to_owned();
            let _alg = columns.next();
            (kid, columns.next().expect("state").to_owned())
        })
        .collect()
}

#[test]
fn keys_list_and_rotate_drive_the_lifecycle() {
    let server = DevServer::start();
    let initial = listed(&server);
    assert_eq!(initial.len(), 1);
    assert_eq!(initial[0].1, "active");

    let scheduled = keys(&server, &["rotate"]);
    assert!(scheduled.starts_with("scheduled "), "{scheduled}");
    let after = listed(&server);
    assert_eq!(after.len(), 2);
    assert!(
        after.contains(&(initial[0].0.clone(), "active".to_owned())),
        "the old key still signs"
    );
    assert_eq!(after.iter().filter(|(_, state)| state == "next").count(), 1);

    let rewrap = keys(&server, &["rewrap"]);
    assert!(
        rewrap.starts_with("re-sealed 0 key(s) under KEK "),
        "all keys already under the current KEK: {rewrap}"
    );

    keys(&server, &["rotate", "--now"]);
    let now = listed(&server);
    assert!(now.contains(&(initial[0].0.clone(), "retiring".to_owned())), "{now:?}");
    assert_eq!(now.iter().filter(|(_, state)| state == "active").count(), 1);
}

#[test]
fn keys_commands_fail_cleanly_without_a_server() {
    let output = run(agentctl().args(["keys", "list", "--jwks-grpc", "http://127.0.0.1:1"]));
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cannot reach jwks-service"),
        "{}",
        describe(&output)
    );
}

#[test]
fn without_agentctls_certificate_the_internal_port_refuses_the_operator() {
    let server = DevServer::start();
    let empty = tempfile::tempdir().expect("empty dir");
    let output = run(agentctl()
        .args(["keys", "list", "--jwks-grpc", &server.grpc, "--tls-dir"])
        .arg(empty.path()));
    assert!(!output.status.success(), "plaintext is refused: {}", describe(&output));
}
