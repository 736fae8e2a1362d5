//! `agentctl certs init`: a CA and per-service certificates that a stock TLS stack
//! (the `openssl` command) accepts, for the right names, with private keys kept private.

use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;

use crate::helpers::{agentctl, describe, run};

const MEMBERS: [&str; 4] = ["identity-service", "token-service", "jwks-service", "agentctl"];

#[test]
fn certs_init_writes_a_pki_that_verifies() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("pki");
    let init = run(agentctl()
        .args(["certs", "init", "--namespace", "prod", "--out"])
        .arg(&out));
    assert!(init.status.success(), "{}", describe(&init));

    for name in MEMBERS {
        let cert = out.join(format!("{name}.pem"));
        let verify = run(Command::new("openssl")
            .arg("verify")
            .arg("-CAfile")
            .arg(out.join("ca.pem"))
            .arg(&cert));
        assert!(
            verify.status.success(),
            "{name} chains to the CA: {}",
            describe(&verify)
        );
        let text = run(Command::new("openssl")
            .args(["x509", "-noout", "-ext", "subjectAltName,extendedKeyUsage", "-in"])
            .arg(&cert));
        let text = String::from_utf8_lossy(&text.stdout).into_owned();
        assert!(text.contains(&format!("DNS:{name}.prod.svc")), "{name}: {text}");
        assert!(
            text.contains("Server Authentication") && text.contains("Client Authentication"),
            "{text}"
        );
        let mode = std::fs::metadata(out.join(format!("{name}-key.pem")))
            .expect("key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{name}'s key is readable by its owner only");
    }
    let ca = run(Command::new("openssl")
        .args(["x509", "-noout", "-ext", "basicConstraints", "-in"])
        .arg(out.join("ca.pem")));
    assert!(String::from_utf8_lossy(&ca.stdout).contains("CA:TRUE"));

    let before = std::fs::read(out.join("ca.pem")).expect("ca");
    let again = run(agentctl().args(["certs", "init", "--out"]).arg(&out));
    assert!(!again.status.success(), "an existing PKI is never overwritten");
    assert!(String::from_utf8_lossy(&again.stderr).contains("refusing to overwrite"));
    assert_eq!(std::fs::read(out.join("ca.pem")).expect("ca"), before);
}

#[test]
fn certs_renew_issues_new_certificates_under_the_same_ca() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (pki, renewed) = (dir.path().join("pki"), dir.path().join("renewed"));
    assert!(
        run(agentctl().args(["certs", "init", "--out"]).arg(&pki))
            .status
            .success()
    );
    let renew = run(agentctl()
        .args(["certs", "renew", "--days", "30", "--ca-dir"])
        .arg(&pki)
        .arg("--out")
        .arg(&renewed));
    assert!(renew.status.success(), "{}", describe(&renew));
    assert!(!renewed.join("ca-key.pem").exists(), "the CA key is never copied");
    assert_eq!(
        std::fs::read(renewed.join("ca.pem")).expect("ca"),
        std::fs::read(pki.join("ca.pem")).expect("ca"),
        "the same CA, so old and new certificates trust each other during the rollout"
    );
    for name in MEMBERS {
        let cert = renewed.join(format!("{name}.pem"));
        let verify = run(Command::new("openssl")
            .arg("verify")
            .arg("-CAfile")
            .arg(pki.join("ca.pem"))
            .arg(&cert));
        assert!(verify.status.success(), "{name}: {}", describe(&verify));
        assert_ne!(
            std::fs::read(&cert).expect("new"),
            std::fs::read(pki.join(format!("{name}.pem"))).expect("old")
        );
    }
    let missing = run(agentctl()
        .args(["certs", "renew", "--ca-dir"])
        .arg(dir.path())
        .arg("--out")
        .arg(dir.path().join("elsewhere")));
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("ca.pem"),
        "{}",
        describe(&missing)
    );
}
