//! `deploy/Dockerfile` and `deploy/docker-compose.yml`, read (no Docker engine here):
//! the image holds every binary something runs, as a non-root user, and Compose gives
//! each service settings it reads, secrets that exist, and the local topology's shape.

use serde_json::Value;
use std::collections::BTreeSet;

use crate::{SERVICES, check_environment, repo, yaml_documents};

fn compose() -> Value {
    let text = std::fs::read_to_string(repo().join("deploy/docker-compose.yml")).expect("compose file");
    yaml_documents(&text).remove(0)
}

/// `COPY --from=build /out/ …` copies what the build stage put in /out: its `cp` line.
fn image_binaries() -> BTreeSet<String> {
    let dockerfile = std::fs::read_to_string(repo().join("deploy/Dockerfile")).expect("Dockerfile");
    let build = dockerfile.split("RUN cargo build").nth(1).expect("a cargo build step");
    let step = build.split("\nFROM ").next().expect("the build step");
    step.split_whitespace()
        .filter_map(|w| w.strip_prefix("target/release/"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_image_holds_every_binary_and_runs_as_a_user_without_a_shell() {
    let binaries = image_binaries();
    let mut expected: BTreeSet<String> = SERVICES.iter().map(|s| (*s).to_owned()).collect();
    expected.insert("agentctl".into());
    assert_eq!(binaries, expected);
    let dockerfile = std::fs::read_to_string(repo().join("deploy/Dockerfile")).expect("Dockerfile");
    let runtime = dockerfile.rsplit("\nFROM ").next().expect("runtime stage");
    assert!(
        runtime.starts_with("gcr.io/distroless/"),
        "a minimal runtime image without a shell"
    );
    assert!(
        runtime.contains("--locked") || dockerfile.contains("--release --locked"),
        "locked build"
    );
    let user = runtime
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER line");
    let uid: u32 = user.split(':').next().expect("uid").parse().expect("a numeric uid");
    assert!(uid > 0, "non-root");
}

#[test]
fn compose_runs_the_local_topology_with_settings_the_binaries_read() {
    let compose = compose();
    let services = compose["services"].as_object().expect("services");
    let declared: BTreeSet<&str> = compose["secrets"]
        .as_object()
        .expect("secrets")
        .keys()
        .map(String::as_str)
        .collect();
    let defaults = shared::shutdown::ShutdownSettings::default();
    let made_by_script = ["pepper", "kek", "redis-password"];
    for (name, secret) in compose["secrets"].as_object().expect("secrets") {
        let file = secret["file"].as_str().expect("a file secret");
        let base = file
            .strip_prefix("./compose/secrets/")
            .expect("under deploy/compose/secrets");
        assert!(
            made_by_script.contains(&base),
            "{name}: deploy/make-secrets.sh makes {base}"
        );
    }
    for service in SERVICES {
        let spec = &services[service];
        let origin = format!("docker-compose.yml/{service}");
        assert_eq!(spec["command"], serde_json::json!([service]), "{origin}");
        assert!(image_binaries().contains(service), "{origin}: the image has {service}");
        assert_eq!(spec["deploy"]["replicas"], 2, "{origin}: two replicas, as deploy/local");
        assert_eq!(spec["user"], "65532:65532", "{origin}");
        assert_eq!(spec["read_only"], true, "{origin}");
        assert_eq!(spec["cap_drop"], serde_json::json!(["ALL"]), "{origin}");
        let env: Vec<(String, String)> = spec["environment"]
            .as_object()
            .expect("environment mapping")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().expect("string values").to_owned()))
            .collect();
        check_environment(service, &env, &origin);
        let value = |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        assert_eq!(value("AGENTAUTH__PROFILE").as_deref(), Some("production"), "{origin}");
        let grace = humantime::parse_duration(spec["stop_grace_period"].as_str().expect("stop_grace_period"))
            .expect("duration");
        assert!(
            grace > defaults.drain_delay + defaults.grace,
            "{origin}: stop_grace_period"
        );
        // Secret files are mounted where the settings look for them.
        let secrets: BTreeSet<&str> = spec["secrets"]
            .as_array()
            .expect("secrets")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for (key, path) in &env {
            if let Some(name) = key
                .ends_with("__FILE")
                .then(|| path.strip_prefix("/run/secrets/"))
                .flatten()
            {
                assert!(
                    secrets.contains(name) && declared.contains(name),
                    "{origin}: {key} reads secret {name}"
                );
            }
        }
        let tls_dir = value("AGENTAUTH__INTERNAL_TLS__DIR").expect("internal TLS");
        let mounted = spec["volumes"]
            .as_array()
            .expect("volumes")
            .iter()
            .filter_map(Value::as_str)
            .any(|v| v == format!("./compose/secrets/internal-tls:{tls_dir}:ro"));
        assert!(mounted, "{origin}: the internal PKI is mounted at {tls_dir}");
        assert_eq!(value("AGENTAUTH__HTTP__PORT").as_deref(), Some("8080"), "{origin}");
    }
    // The issuer is what clients reach: the ingress's published port, over https.
    let published = services["ingress"]["ports"][0].as_str().expect("ingress port");
    let port = published.split(':').next().expect("host port");
    for service in ["identity-service", "token-service"] {
        assert_eq!(
            services[service]["environment"]["AGENTAUTH__PUBLIC_BASE_URL"],
            format!("https://localhost:{port}"),
            "{service}"
        );
    }
    // HAProxy finds the replicas by their Compose names on the port they listen on.
    let haproxy = std::fs::read_to_string(repo().join("deploy/compose/haproxy.cfg")).expect("haproxy.cfg");
    for service in SERVICES {
        assert!(
            haproxy.contains(&format!(" {service}:8080 ")),
            "haproxy reaches {service}:8080"
        );
    }
    let mounts: Vec<&str> = services["ingress"]["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        mounts.iter().any(|m| m.starts_with("./compose/haproxy.cfg:")),
        "the checked config is the one mounted"
    );
}
