//! The deployment files checked against the code they deploy. No cluster and no Docker
//! engine here, so the files are read: `kubectl kustomize` builds every overlay,
//! `kubernetes-validate --strict` checks every object against the Kubernetes 1.32
//! schemas, and the tests below hold the manifests, the Compose file and both HAProxy
//! configurations to what the binaries really do: the routes they mount, the ports and
//! settings they read, the drain schedule, the user they run as. `bench.rs` runs
//! `bench/bench.py` briefly, so the benchmark keeps measuring what it claims to.

mod alerts;
mod bench;
mod compose;
mod configuration;
mod dockerfile;
mod kubelet;
mod manifests;
mod routing;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;
use serde_json::Value;

pub const SERVICES: [&str; 3] = ["jwks-service", "identity-service", "token-service"];

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

/// Where cargo put this build's binaries (`target/<profile>`, beside `deps/`).
pub fn bin_dir() -> PathBuf {
    std::env::current_exe()
        .expect("test binary path")
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_owned()
}

/// Runs a command with `input` on stdin; its stdout, or the test fails with its stderr.
pub fn run(command: &mut Command, input: &str) -> String {
    use std::io::Write;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{command:?} cannot start: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    let output = child.wait_with_output().expect("output");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

/// Every document of a YAML stream, as JSON (PyYAML, which kubernetes-validate uses too).
pub fn yaml_documents(yaml: &str) -> Vec<Value> {
    let json = run(
        Command::new("python3").args([
            "-c",
            "import json, sys, yaml; print(json.dumps([d for d in yaml.safe_load_all(sys.stdin) if d is not None]))",
        ]),
        yaml,
    );
    serde_json::from_str(&json).expect("JSON from PyYAML")
}

/// Every setting a service has, by dotted path (`store`, `store.redis_url`,
/// `hash_pepper.file`, …), with its default, from its defaults.
pub fn setting_defaults<T: Serialize>(defaults: &T) -> BTreeMap<String, Value> {
    fn walk(value: &Value, prefix: &str, out: &mut BTreeMap<String, Value>) {
        if let Value::Object(map) = value {
            for (key, child) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                walk(child, &path, out);
                out.insert(path, child.clone());
            }
        }
    }
    let mut paths = BTreeMap::new();
    walk(
        &serde_json::to_value(defaults).expect("settings serialize"),
        "",
        &mut paths,
    );
    paths
}

/// The dotted paths of every setting a service has, sections included.
pub fn setting_paths<T: Serialize>(defaults: &T) -> BTreeSet<String> {
    setting_defaults(defaults).into_keys().collect()
}

/// `AGENTAUTH__STORE__REDIS_URL` → `store.redis_url`.
pub fn setting_path(env_key: &str) -> Option<String> {
    env_key
        .strip_prefix("AGENTAUTH__")
        .map(|rest| rest.split("__").map(str::to_lowercase).collect::<Vec<_>>().join("."))
}

/// Checks that every `AGENTAUTH__…` variable names a real setting of `service` and that
/// together they load over its defaults (values of the right types).
pub fn check_environment(service: &str, env: &[(String, String)], origin: &str) {
    let env: std::collections::HashMap<String, String> = env
        .iter()
        .filter(|(k, _)| k.starts_with("AGENTAUTH__"))
        .cloned()
        .collect();
    let sources = shared::settings::Sources {
        file: None,
        env: env.clone(),
    };
    let (paths, loaded) = match service {
        "jwks-service" => {
            let defaults = jwks_service::settings::Settings::default();
            (
                setting_paths(&defaults),
                shared::settings::load(&defaults, sources).map(|_| ()),
            )
        }
        "identity-service" => {
            let defaults = identity_service::settings::Settings::default();
            (
                setting_paths(&defaults),
                shared::settings::load(&defaults, sources).map(|_| ()),
            )
        }
        "token-service" => {
            let defaults = token_service::settings::Settings::default();
            (
                setting_paths(&defaults),
                shared::settings::load(&defaults, sources).map(|_| ()),
            )
        }
        other => panic!("unknown service {other}"),
    };
    for key in env.keys() {
        let path = setting_path(key).expect("AGENTAUTH__ prefix");
        // A setting another service reads (the shared ConfigMap) is fine; a typo is not.
        let known_elsewhere = [
            setting_paths(&jwks_service::settings::Settings::default()),
            setting_paths(&identity_service::settings::Settings::default()),
            setting_paths(&token_service::settings::Settings::default()),
        ]
        .iter()
        .any(|p| p.contains(&path));
        assert!(
            paths.contains(&path) || known_elsewhere,
            "{origin}: {key} is no setting of any service"
        );
    }
    loaded.unwrap_or_else(|e| panic!("{origin}: {service}'s environment does not load: {e}"));
}
