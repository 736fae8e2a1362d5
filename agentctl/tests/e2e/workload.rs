//! Workload identity federation end to end: `agentctl dev` trusts a stand-in for a
//! cluster's service-account issuer (https, private CA, OIDC discovery), the operator
//! federates a client with `agentctl clients federate`, and authlib (PyPI) authenticates
//! as it with nothing but the token file a pod would have, read on every request.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use shared::testing::TestWorkloadIssuer;

use crate::helpers::{DevServer, describe, run};
use crate::stock_clients::clients_json;

/// `agentctl dev` trusting `issuer` as a Kubernetes cluster's, from a settings file.
fn server_trusting(issuer: &TestWorkloadIssuer, dir: &Path) -> DevServer {
    let config = dir.join("agentauth.toml");
    let settings = format!(
        "[[workload_identity.issuers]]\nissuer = \"{}\"\nkind = \"kubernetes\"\nca_file = \"{}\"\nrequire_pod_binding = true\n",
        issuer.issuer,
        issuer.ca_file().display()
    );
    std::fs::write(&config, settings).expect("config file");
    DevServer::start_with_env(&[("AGENTAUTH_CONFIG", config.to_str().expect("UTF-8 path"))])
}

#[test]
fn authlib_authenticates_with_the_pods_token_file_and_no_secret() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let issuer = runtime.block_on(TestWorkloadIssuer::start());
    let dir = tempfile::tempdir().expect("dir");
    let server = server_trusting(&issuer, dir.path());

    let created = clients_json(&server, &["create", "--name", "reporter", "--scope", "reports:read"]);
    let id = created["client_id"].as_str().expect("client_id").to_owned();
    let subject = "system:serviceaccount:agents:reporter";
    let federated = clients_json(
        &server,
        &["federate", &id, "--issuer", &issuer.issuer, "--subject", subject],
    );
    assert_eq!(
        federated["secrets"],
        serde_json::json!([]),
        "the create secret is gone: {federated}"
    );
    assert_eq!(federated["workloads"][0]["subject"], subject);
    assert_eq!(federated["workloads"][0]["match"], "exact");

    // The kubelet's token for our audience, and the one it rotates to.
    let audience = server.http.trim_end_matches('/');
    let token_file = dir.path().join("token");
    let rotated_file = dir.path().join("token.next");
    let token = |lifetime| issuer.sign(&issuer.service_account_claims("agents", "reporter", audience, lifetime));
    std::fs::write(&token_file, token(600)).expect("token file");
    std::fs::write(&rotated_file, token(590)).expect("rotated token");

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/authlib_workload.py");
    let output = run(Command::new("python3")
        .arg(script)
        .arg(format!("{audience}/oauth2/token"))
        .arg(&id)
        .arg(&token_file)
        .arg(&rotated_file));
    assert!(output.status.success(), "authlib_workload.py: {}", describe(&output));
    let result: Value = serde_json::from_slice(&output.stdout).expect("one JSON line");
    println!("authlib with a workload token file: {result}");
    for issued in result["issued"].as_array().expect("two tokens") {
        assert_eq!(issued["client_id"], id.as_str(), "{result}");
        assert_eq!(issued["sub"], id.as_str());
        assert_eq!(issued["scope"], "reports:read");
    }
    let sent = result["assertions_sent"].as_array().expect("assertions");
    assert_eq!(sent.len(), 2, "{result}");
    assert_ne!(sent[0], sent[1], "the second request read the rotated token: {result}");
}
