//! The issue's "done when": with `agentctl dev` up, curl alone goes discovery →
//! `POST /agent/identity` → `POST /oauth2/token`, and a stock JWT library (PyJWT's
//! `PyJWKClient` on `jwks_uri`) verifies the access token's signature, typ, iss, aud and exp.

use std::process::{Command, Output};

use serde_json::Value;

use crate::helpers::{DevServer, describe, run, str_field};

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const VERIFY_TOKEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/verify_token.py");
/// What `verify_token.py` exits with when PyJWT rejects the token, as opposed to a
/// crash (exit 1), so a missing PyJWT never passes for a rejected token.
const TOKEN_REJECTED: i32 = 3;

/// What an agent holds after the curl flow.
struct Issued {
    discovery: Value,
    registration: Value,
    token: Value,
}

impl Issued {
    fn access_token(&self) -> &str {
        str_field(&self.token, "access_token")
    }

    fn pre_claim_scope(&self) -> String {
        let scopes = self.registration["pre_claim_scopes"]
            .as_array()
            .expect("pre_claim_scopes is an array");
        let scopes: Vec<&str> = scopes
            .iter()
            .map(|s| s.as_str().expect("a scope is a string"))
            .collect();
        scopes.join(" ")
    }
}

/// `curl -sS --fail-with-body`, answering JSON.
fn curl(args: &[&str]) -> Value {
    let output = run(Command::new("curl")
        .args(["-sS", "--fail-with-body", "--max-time", "10"])
        .args(args));
    assert!(output.status.success(), "curl {args:?} failed: {}", describe(&output));
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("curl {args:?} did not answer JSON: {e}"))
}

/// Follows the links in the discovery document, as a client that knows only the
/// discovery URL would.
fn issue_with_curl(server: &DevServer) -> Issued {
    let discovery = curl(&[&server.discovery]);
    let identity_endpoint = str_field(&discovery["agent_auth"], "identity_endpoint");
    let registration = curl(&[
        "-X",
        "POST",
        identity_endpoint,
        "-H",
        "Content-Type: application/json",
        "-d",
        r#"{"type":"anonymous"}"#,
    ]);
    let assertion = format!("assertion={}", str_field(&registration, "identity_assertion"));
    let token = curl(&[
        str_field(&discovery, "token_endpoint"),
        "--data-urlencode",
        &format!("grant_type={JWT_BEARER}"),
        "--data-urlencode",
        &assertion,
    ]);
    Issued {
        discovery,
        registration,
        token,
    }
}

fn verify_with_pyjwt(discovery: &Value, access_token: &str) -> Output {
    let issuer = str_field(discovery, "issuer");
    // Access tokens are for this deployment's resource servers: aud defaults to the issuer.
    let audience = issuer;
    run(Command::new("python3").args([
        VERIFY_TOKEN,
        str_field(discovery, "jwks_uri"),
        issuer,
        audience,
        access_token,
    ]))
}

/// The same token with one signature character changed. The middle one: the last
/// base64url character of a 64-byte signature also carries padding bits a decoder may ignore.
fn tamper_signature(token: &str) -> String {
    let signature = token.rfind('.').expect("a JWS has three parts") + 1;
    let mut bytes = token.as_bytes().to_vec();
    let middle = signature + (bytes.len() - signature) / 2;
    bytes[middle] = if bytes[middle] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).expect("base64url is ASCII")
}

#[test]
fn curl_flow_yields_an_access_token_pyjwt_verifies() {
    let server = DevServer::start();
    let issued = issue_with_curl(&server);
    assert_eq!(str_field(&issued.discovery, "issuer"), server.http);
    assert_eq!(str_field(&issued.token, "token_type"), "Bearer");
    assert!(
        issued.token["expires_in"].as_u64().is_some_and(|s| s > 0),
        "{}",
        issued.token
    );
    assert_eq!(str_field(&issued.token, "scope"), issued.pre_claim_scope());

    let output = verify_with_pyjwt(&issued.discovery, issued.access_token());
    assert!(
        output.status.success(),
        "PyJWT rejected the token: {}",
        describe(&output)
    );
    let claims: Value = serde_json::from_slice(&output.stdout).expect("verify_token.py prints the claims as JSON");
    assert_eq!(
        str_field(&claims, "sub"),
        str_field(&issued.registration, "registration_id")
    );
    assert_eq!(str_field(&claims, "scope"), issued.pre_claim_scope());
}

#[test]
fn pyjwt_rejects_a_token_with_a_tampered_signature() {
    let server = DevServer::start();
    let issued = issue_with_curl(&server);
    let tampered = tamper_signature(issued.access_token());
    assert_ne!(tampered, issued.access_token());

    let output = verify_with_pyjwt(&issued.discovery, &tampered);
    assert_eq!(output.status.code(), Some(TOKEN_REJECTED), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("InvalidSignatureError"),
        "{}",
        describe(&output)
    );
}
