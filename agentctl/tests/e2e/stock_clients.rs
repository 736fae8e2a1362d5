//! Machine clients no one here wrote, against `agentctl dev`: oauth4webapi + jose (npm)
//! do `private_key_jwt` + DPoP + `resource` client_credentials and verify the bound
//! token; authlib (PyPI) does `private_key_jwt` and validates the discovery document as
//! RFC 8414 metadata. The operator side is the built `agentctl clients` commands. Node
//! packages come from `agentctl/tests/e2e/node` (`npm ci` there; `.ci/test` runs it).
//!
//! Each library test runs once per kind of key in [`Key`] that the library can make:
//! the one it was first written with, an Ed25519 key (which these libraries label
//! `Ed25519`, RFC 9864, not `EdDSA`), and an RSA-PSS key registered without `alg`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::helpers::{DevServer, agentctl, describe, run, str_field};

pub(crate) const RESOURCE: &str = "https://reports.example/api";

fn node_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/node")
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e").join(name)
}

/// `agentctl dev` with one protected resource that supports `reports:read` only.
pub(crate) fn server_with_resource(config_dir: &Path) -> DevServer {
    let config = config_dir.join("agentauth.toml");
    std::fs::write(
        &config,
        format!("[[protected_resources]]\nresource = \"{RESOURCE}\"\nscopes_supported = [\"reports:read\"]\n"),
    )
    .expect("config file");
    DevServer::start_with_env(&[("AGENTAUTH_CONFIG", config.to_str().expect("UTF-8 path"))])
}

/// `agentctl clients <args> --json` against `server`, parsed.
pub(crate) fn clients_json(server: &DevServer, args: &[&str]) -> Value {
    let tls = server.tls.path().to_str().expect("UTF-8 path");
    let output =
        run(agentctl()
            .arg("clients")
            .args(args)
            .args(["--json", "--token-grpc", &server.grpc, "--tls-dir", tls]));
    assert!(
        output.status.success(),
        "agentctl clients {args:?}: {}",
        describe(&output)
    );
    serde_json::from_slice(&output.stdout).expect("--json prints JSON")
}

/// A client whose only credential is the public key set in `jwks`.
fn key_client(server: &DevServer, jwks: &Path) -> String {
    let created = clients_json(
        server,
        &[
            "create",
            "--scope",
            "reports:read",
            "--scope",
            "reports:write",
            "--name",
            "stock",
        ],
    );
    let id = str_field(&created, "client_id").to_owned();
    let set = clients_json(
        server,
        &["keys", "set", &id, "--jwks", jwks.to_str().expect("UTF-8 path")],
    );
    assert_eq!(set["auth_method"], "private_key_jwt", "{set}");
    assert_eq!(set["secrets"], serde_json::json!([]), "{set}");
    id
}

/// A kind of client key, as the scripts' VARIANT argument names it, made and used the
/// way the library under test does by default.
#[derive(Clone, Copy, Debug)]
enum Key {
    /// P-256, registered with `alg: ES256` (the Node client's original key).
    Es256,
    /// RSA 2048, registered with `alg: RS256` (the authlib client's original key).
    Rs256,
    /// `generateKeyPair('Ed25519')`, registered with `alg: Ed25519`.
    Ed25519,
    /// RSA-PSS 2048 signing PS256, registered as jose's `exportJWK` and PyJWT's `to_jwk`
    /// write it: without `alg`, which RFC 7517 §4.4 makes optional.
    Ps256NoAlg,
}

impl Key {
    fn variant(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
            Self::Ed25519 => "Ed25519",
            Self::Ps256NoAlg => "PS256-noalg",
        }
    }

    /// The JWS `alg` the library puts on what it signs with this key.
    fn alg(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
            Self::Ed25519 => "Ed25519",
            Self::Ps256NoAlg => "PS256",
        }
    }

    /// The `alg` member of the registered public JWK, if any.
    fn registered_alg(self) -> Option<&'static str> {
        match self {
            Self::Ps256NoAlg => None,
            other => Some(other.alg()),
        }
    }
}

/// Checks that keygen wrote the public JWK `key` describes, so a pass means the server
/// took that very shape (an `alg` slipping into the no-`alg` variant would hide defect 4).
fn assert_registered_jwk(jwks: &Path, key: Key) {
    let text = std::fs::read_to_string(jwks).expect("keygen wrote public.jwks");
    let set: Value = serde_json::from_str(&text).expect("a JWK set");
    let jwk = &set["keys"][0];
    assert_eq!(jwk["alg"].as_str(), key.registered_alg(), "{key:?}: {jwk}");
    assert!(jwk.get("d").is_none(), "a public key only: {jwk}");
}

#[test]
fn oauth4webapi_gets_a_dpop_bound_token_for_one_resource_with_private_key_jwt() {
    oauth4webapi_gets_a_dpop_bound_token(Key::Es256);
}

#[test]
fn oauth4webapi_gets_a_dpop_bound_token_with_an_ed25519_key() {
    oauth4webapi_gets_a_dpop_bound_token(Key::Ed25519);
}

#[test]
fn oauth4webapi_gets_a_dpop_bound_token_with_an_rsa_pss_key_registered_without_alg() {
    oauth4webapi_gets_a_dpop_bound_token(Key::Ps256NoAlg);
}

/// `key`'s kind both for the `private_key_jwt` client key and for the DPoP key.
fn oauth4webapi_gets_a_dpop_bound_token(key: Key) {
    assert!(
        node_dir().join("node_modules/oauth4webapi").exists(),
        "run `npm ci` in {} (.ci/test does)",
        node_dir().display()
    );
    let dir = tempfile::tempdir().expect("dir");
    let server = server_with_resource(dir.path());
    let node = |args: &[&str]| {
        let output = run(Command::new("node")
            .current_dir(node_dir())
            .arg("machine_client.mjs")
            .args(args));
        assert!(
            output.status.success(),
            "node machine_client.mjs {args:?}: {}",
            describe(&output)
        );
        output
    };
    let keys = dir.path().to_str().expect("UTF-8 path");
    node(&["keygen", keys, key.variant()]);
    let jwks = dir.path().join("public.jwks");
    assert_registered_jwk(&jwks, key);
    let id = key_client(&server, &jwks);
    // The script also checks that discovery advertises the alg for both uses.
    let output = node(&[
        "token",
        &server.http,
        &id,
        keys,
        RESOURCE,
        "reports:read reports:write",
        key.variant(),
    ]);
    let result: Value = serde_json::from_slice(&output.stdout).expect("one JSON line");
    println!("oauth4webapi + jose, {key:?}: {result}");
    assert_eq!(
        result["token_type"], "dpop",
        "oauth4webapi lower-cases token_type: {result}"
    );
    assert_eq!(result["typ"], "at+jwt");
    assert_eq!(result["sub"], id.as_str());
    assert_eq!(result["aud"], RESOURCE);
    assert_eq!(
        result["scope"], "reports:read",
        "narrowed to what the resource supports"
    );
    assert_eq!(result["cnf_matches_dpop_key"], true);
    // oauth4webapi picks each alg from the key, so these say what the server accepted.
    assert_eq!(result["client_assertion_alg"], key.alg(), "{result}");
    assert_eq!(result["dpop_alg"], key.alg(), "{result}");
}

#[test]
fn authlib_validates_the_discovery_document_as_rfc_8414() {
    let server = DevServer::start();
    let output = run(Command::new("python3")
        .arg(script("authlib_metadata.py"))
        .arg(&server.discovery));
    assert!(output.status.success(), "authlib_metadata.py: {}", describe(&output));
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("one JSON line");
    assert_eq!(metadata["issuer"], server.http.as_str());
    assert_eq!(metadata["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    println!("authlib validated {}: {metadata}", server.discovery);
}

#[test]
fn authlib_authenticates_with_private_key_jwt() {
    authlib_authenticates_with(Key::Rs256);
}

/// authlib (through joserfc) labels this `Ed25519`; it can also sign `EdDSA`, but
/// `Ed25519` is what RFC 9864 registers and what the Node libraries send.
#[test]
fn authlib_authenticates_with_private_key_jwt_and_an_ed25519_key() {
    authlib_authenticates_with(Key::Ed25519);
}

#[test]
fn authlib_authenticates_with_private_key_jwt_and_an_rsa_pss_key_registered_without_alg() {
    authlib_authenticates_with(Key::Ps256NoAlg);
}

fn authlib_authenticates_with(key: Key) {
    let dir = tempfile::tempdir().expect("dir");
    let server = DevServer::start();
    let python = |args: &[&str]| {
        let output = run(Command::new("python3").arg(script("authlib_client.py")).args(args));
        assert!(
            output.status.success(),
            "authlib_client.py {args:?}: {}",
            describe(&output)
        );
        output
    };
    let keys = dir.path().to_str().expect("UTF-8 path");
    python(&["keygen", keys, key.variant()]);
    let jwks = dir.path().join("public.jwks");
    assert_registered_jwk(&jwks, key);
    let id = key_client(&server, &jwks);
    let token_url = format!("{}/oauth2/token", server.http);
    let output = python(&["token", &token_url, &id, keys, "reports:read", key.variant()]);
    let issued: Value = serde_json::from_slice(&output.stdout).expect("one JSON line");
    assert_eq!(issued["token_type"], "Bearer");
    assert_eq!(issued["scope"], "reports:read");
    assert_eq!(
        issued["client_assertion_header"]["alg"],
        key.alg(),
        "what authlib sent: {issued}"
    );
    let token = str_field(&issued, "access_token");
    let claims: Value = jsonwebtoken::dangerous::insecure_decode_claims(token).expect("a JWT");
    assert_eq!(claims["sub"], id.as_str());
    println!(
        "authlib private_key_jwt ({}): issued {} to {id}",
        key.alg(),
        issued["scope"]
    );
}

#[test]
fn the_clients_commands_manage_the_whole_lifecycle() {
    let server = DevServer::start();
    let created = clients_json(
        &server,
        &["create", "--scope", "reports:read", "--name", "ops", "--introspect"],
    );
    let id = str_field(&created, "client_id").to_owned();
    let first_secret = str_field(&created, "secret_id").to_owned();
    let listed = clients_json(&server, &["list"]);
    assert!(
        listed
            .as_array()
            .expect("array")
            .iter()
            .any(|c| c["client_id"] == id.as_str()),
        "{listed}"
    );
    let shown = clients_json(&server, &["show", &id]);
    assert_eq!(
        (shown["name"].as_str(), shown["introspect"].as_bool()),
        (Some("ops"), Some(true))
    );
    let updated = clients_json(&server, &["update", &id, "--name", "ops-2", "--requires-dpop", "true"]);
    assert_eq!(
        (updated["name"].as_str(), updated["requires_dpop"].as_bool()),
        (Some("ops-2"), Some(true))
    );
    let added = clients_json(&server, &["secret", "add", &id]);
    assert!(str_field(&added, "client_secret").len() >= 43);
    let after_revoke = clients_json(&server, &["secret", "revoke", &id, &first_secret]);
    assert_eq!(after_revoke["secrets"].as_array().expect("array").len(), 1);
    assert_eq!(clients_json(&server, &["disable", &id])["enabled"], false);
    assert_eq!(clients_json(&server, &["enable", &id])["enabled"], true);
    let cert = clients_json(&server, &["cert", "set", &id, "--subject-dn", "CN=ops,O=Example"]);
    assert_eq!(cert["auth_method"], "tls_client_auth");
    assert_eq!(cert["certificate"], "CN=ops,O=Example");
    assert_eq!(clients_json(&server, &["delete", &id])["deleted"], true);

    // The table form, for people.
    let tls = server.tls.path().to_str().expect("UTF-8 path");
    let table = run(agentctl().args(["clients", "list", "--token-grpc", &server.grpc, "--tls-dir", tls]));
    let text = String::from_utf8(table.stdout).expect("UTF-8");
    assert!(text.starts_with("client_id"), "a header row: {text}");
    // And a clear refusal: show of a deleted client.
    let refused = run(agentctl().args(["clients", "show", &id, "--token-grpc", &server.grpc, "--tls-dir", tls]));
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("no client"),
        "{}",
        describe(&refused)
    );
}
