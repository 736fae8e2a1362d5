//! Every Deployment of every overlay runs the way a kubelet would run it: `kubelet.py`
//! materialises the volumes with Kubernetes' ownership and mode rules, sets `env` and
//! `envFrom`, runs the real binary as the pod's user in a mount namespace with a
//! read-only root, probes what the manifest declares within its timings and requires a
//! clean exit after SIGTERM within the grace period. Redis is a real `redis-server`
//! (TLS where the overlay's URL says `rediss://`). Needs root, for namespaces and mounts,
//! as the fault tests do.

use std::process::Command;
use std::time::{Duration, Instant};

use super::repo;

fn run_overlay(overlay: &str) {
    assert!(
        Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n")),
        "the kubelet simulation needs root (network and mount namespaces): run the suite as root, as CI does"
    );
    let bin_dir = super::bin_dir();
    let work = tempfile::tempdir().expect("work dir");
    let started = Instant::now();
    let output = Command::new("timeout")
        .args(["--kill-after=10", "240"])
        .arg("python3")
        .arg(repo().join("system-tests/tests/deploy/kubelet.py"))
        .arg(repo().join("k8s/overlays").join(overlay))
        .arg(&bin_dir)
        .arg(work.path())
        .output()
        .expect("python3 runs kubelet.py");
    let printed = String::from_utf8_lossy(&output.stdout);
    println!("{overlay} ({:?}):\n{printed}", started.elapsed());
    assert!(
        output.status.success(),
        "{overlay}: a pod would not run:\n{printed}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let deployments = printed.matches(", exited 0 after").count();
    assert_eq!(
        deployments, 3,
        "{overlay}: every Deployment (jwks, identity, token) ran and ended cleanly"
    );
    assert!(started.elapsed() < Duration::from_secs(240));
}

#[test]
fn every_deployment_of_the_dev_overlay_runs_as_a_kubelet_runs_it() {
    run_overlay("dev");
}

#[test]
fn every_deployment_of_the_production_overlay_runs_as_a_kubelet_runs_it() {
    run_overlay("production");
}

#[test]
fn every_deployment_of_the_gateway_api_overlay_runs_as_a_kubelet_runs_it() {
    run_overlay("production-gateway-api");
}

#[test]
fn every_deployment_of_the_monitoring_overlay_runs_as_a_kubelet_runs_it() {
    run_overlay("production-monitoring");
}

#[test]
fn every_overlay_is_covered() {
    let mut overlays: Vec<String> = std::fs::read_dir(repo().join("k8s/overlays"))
        .expect("overlays")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    overlays.sort();
    assert_eq!(
        overlays,
        ["dev", "production", "production-gateway-api", "production-monitoring"],
        "a new overlay needs its kubelet test above"
    );
}
