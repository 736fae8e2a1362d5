//! RFC 8705 through the real ingress: HAProxy asks for client certificates and forwards
//! the one presented (with its verdict on the chain) in headers only it sets. A machine
//! client using Python `requests` with a certificate from the client CA authenticates
//! with `tls_client_auth` and gets a certificate-bound token; the same headers forged by
//! a client are dropped at the ingress.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;

use crate::topology::{Topology, run};

/// A certificate from the topology's client CA for `cn`, as (cert.pem, key.pem, DER).
fn issue(secrets: &Path, dir: &Path, cn: &str) -> (String, String, Vec<u8>) {
    let (key, csr, cert, der) = (
        dir.join("key.pem"),
        dir.join("req.csr"),
        dir.join("cert.pem"),
        dir.join("cert.der"),
    );
    let ca = secrets.join("client-ca");
    let limit = Duration::from_secs(10);
    run(
        Command::new("openssl")
            .args(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"])
            .args(["-subj", &format!("/O=agentauth local/CN={cn}")])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&csr),
        limit,
    );
    run(
        Command::new("openssl")
            .args(["x509", "-req", "-days", "1", "-in"])
            .arg(&csr)
            .arg("-CA")
            .arg(ca.join("ca.pem"))
            .arg("-CAkey")
            .arg(ca.join("ca-key.pem"))
            .args(["-CAcreateserial", "-CAserial"])
            .arg(dir.join("ca.srl"))
            .arg("-out")
            .arg(&cert),
        limit,
    );
    run(
        Command::new("openssl")
            .args(["x509", "-in"])
            .arg(&cert)
            .args(["-outform", "DER", "-out"])
            .arg(&der),
        limit,
    );
    let path = |p: &Path| p.to_str().expect("UTF-8 path").to_owned();
    (path(&cert), path(&key), std::fs::read(&der).expect("DER"))
}

/// `agentctl clients …` inside the topology's namespace, `--json`, parsed.
fn clients(topology: &Topology, args: &[&str]) -> Value {
    let agentctl = std::env::current_exe()
        .expect("exe")
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("agentctl");
    let tls = topology.secrets().join("internal-tls");
    let mut command = vec![agentctl.display().to_string(), "clients".into()];
    command.extend(args.iter().map(|a| (*a).to_owned()));
    command.extend([
        "--json".into(),
        "--token-grpc".into(),
        "http://token-service:50051".into(),
    ]);
    command.extend(["--tls-dir".into(), tls.display().to_string()]);
    let refs: Vec<&str> = command.iter().map(String::as_str).collect();
    serde_json::from_slice(&topology.in_ns(&refs).stdout).expect("--json prints JSON")
}

fn requests_client(topology: &Topology, client_id: &str, cert: Option<(&str, &str)>, forged: Option<&str>) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/faults/mtls_client.py");
    let ca = topology.secrets().join("ingress/ca.pem");
    let (cert, key) = cert.unwrap_or(("-", "-"));
    let mut command = Command::new("python3");
    command
        .arg(script)
        .arg(&topology.issuer)
        .arg(ca)
        .args([client_id, cert, key]);
    if let Some(forged) = forged {
        command.arg(forged);
    }
    let output = run(&mut command, Duration::from_secs(20));
    serde_json::from_slice(&output.stdout).expect("one JSON line")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_with_a_client_certificate_gets_a_certificate_bound_token_through_the_ingress() {
    let topology = tokio::task::block_in_place(|| Topology::up(&crate::COMMON));
    let discovery: Value = topology
        .http
        .get(topology.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .expect("ingress reachable")
        .json()
        .await
        .expect("json");
    assert_eq!(discovery["tls_client_certificate_bound_access_tokens"], true);
    let methods = discovery["token_endpoint_auth_methods_supported"]
        .as_array()
        .expect("array");
    assert!(methods.contains(&"tls_client_auth".into()), "{discovery}");

    tokio::task::block_in_place(|| {
        let dir = tempfile::tempdir().expect("dir");
        let (cert, key, der) = issue(&topology.secrets(), dir.path(), "reporter");
        let created = clients(&topology, &["create", "--scope", "reports:read", "--name", "reporter"]);
        let id = created["client_id"].as_str().expect("client_id").to_owned();
        let set = clients(
            &topology,
            &["cert", "set", &id, "--subject-dn", "CN=reporter,O=agentauth local"],
        );
        assert_eq!(set["auth_method"], "tls_client_auth", "{set}");

        let answer = requests_client(&topology, &id, Some((&cert, &key)), None);
        assert_eq!(answer["status"], 200, "{answer}");
        let token = answer["body"]["access_token"].as_str().expect("token");
        let payload = token.split('.').nth(1).expect("payload");
        let claims: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .expect("base64url"),
        )
        .expect("claims");
        let thumbprint = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &der));
        assert_eq!(claims["cnf"]["x5t#S256"], thumbprint.as_str(), "{claims}");
        println!("tls_client_auth through HAProxy: token bound to x5t#S256={thumbprint}");

        // The same certificate forged into the headers, with no TLS client certificate:
        // HAProxy drops them, so nothing authenticates the client.
        let forged = base64::engine::general_purpose::STANDARD.encode(&der);
        let answer = requests_client(&topology, &id, None, Some(&forged));
        assert_eq!(answer["status"], 401, "{answer}");
        assert_eq!(answer["body"]["error"], "invalid_client", "{answer}");
        // A certificate from no CA the ingress trusts, naming the same subject.
        let rogue_dir = tempfile::tempdir().expect("dir");
        let rogue_key = rogue_dir.path().join("key.pem");
        let rogue_cert = rogue_dir.path().join("cert.pem");
        run(
            Command::new("openssl")
                .args([
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-nodes",
                    "-days",
                    "1",
                ])
                .args(["-subj", "/O=agentauth local/CN=reporter", "-keyout"])
                .arg(&rogue_key)
                .arg("-out")
                .arg(&rogue_cert),
            Duration::from_secs(10),
        );
        let (rc, rk) = (rogue_cert.to_str().expect("path"), rogue_key.to_str().expect("path"));
        let answer = requests_client(&topology, &id, Some((rc, rk)), None);
        // RFC 6749 §5.2: authenticated by certificate, not the Authorization header, so
        // a 400 without a challenge.
        assert_eq!(
            (answer["status"].as_u64(), answer["body"]["error"].as_str()),
            (Some(400), Some("invalid_client")),
            "a self-signed look-alike fails the chain check: {answer}"
        );
    });
}
