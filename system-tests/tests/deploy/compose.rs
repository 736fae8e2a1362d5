//! `deploy/docker-compose.yml`, read (no Docker engine here): each service gets settings
//! it reads, the local topology's shape, and exactly the secret files it reads, copied
//! for its user by the `secret-files` step; no private key is world-readable or handed
//! to a container that does not use it.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

use crate::dockerfile::image_binaries;
use crate::{SERVICES, check_environment, repo, yaml_documents};

fn compose() -> Value {
    let text = std::fs::read_to_string(repo().join("deploy/docker-compose.yml")).expect("compose file");
    yaml_documents(&text).remove(0)
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// The `secret-files` step's copies: (from under deploy/compose/secrets, to volume/path,
/// owner uid).
fn copies(compose: &Value) -> Vec<(String, String, u32)> {
    compose["services"]["secret-files"]["environment"]["COPY"]
        .as_str()
        .expect("secret-files' COPY table")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(w.len(), 3, "FROM TO OWNER: {l}");
            (w[0].to_owned(), w[1].to_owned(), w[2].parse().expect("a numeric owner"))
        })
        .collect()
}

/// Where `path` in service `service` comes from: the volume mounted over it, and the path
/// inside that volume as the `secret-files` step sees it (`<its dir under /to>/<rest>`).
fn copied_path(compose: &Value, service: &str, path: &str) -> Option<String> {
    let services = &compose["services"];
    let step_dirs: BTreeMap<&str, &str> = strings(&services["secret-files"]["volumes"])
        .into_iter()
        .filter_map(|v| {
            let mut parts = v.split(':');
            let volume = parts.next()?;
            let dir = parts.next()?.strip_prefix("/to/")?;
            Some((volume, dir))
        })
        .collect();
    strings(&services[service]["volumes"]).into_iter().find_map(|v| {
        let mut parts = v.split(':');
        let (volume, target) = (parts.next()?, parts.next()?);
        let rest = path.strip_prefix(target)?.strip_prefix('/')?;
        Some(format!("{}/{rest}", step_dirs.get(volume)?))
    })
}

/// What `deploy/make-secrets.sh` makes that a container may be given: never a CA's key.
fn givable(file: &str) -> bool {
    let internal = ["ca".to_owned()]
        .into_iter()
        .chain(shared::pki::MEMBERS.iter().map(|m| (*m).to_owned()))
        .flat_map(|m| [format!("internal-tls/{m}.pem"), format!("internal-tls/{m}-key.pem")])
        .filter(|f| f != "internal-tls/ca-key.pem")
        .collect::<Vec<_>>();
    ["pepper", "kek", "redis-password", "ingress/ingress.pem"].contains(&file) || internal.iter().any(|f| f == file)
}

#[test]
fn compose_runs_the_local_topology_with_settings_the_binaries_read() {
    let compose = compose();
    let services = compose["services"].as_object().expect("services");
    let defaults = shared::shutdown::ShutdownSettings::default();
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
        assert_eq!(value("AGENTAUTH__HTTP__PORT").as_deref(), Some("8080"), "{origin}");
        if service != "jwks-service" {
            // HAProxy overwrites X-Forwarded-For: the one trusted hop.
            assert_eq!(
                value("AGENTAUTH__CLIENT_ADDRESS__TRUSTED_PROXY_HOPS").as_deref(),
                Some("1"),
                "{origin}"
            );
        }
    }
    let text = std::fs::read_to_string(repo().join("deploy/docker-compose.yml")).expect("compose file");
    assert!(
        !text.to_lowercase().contains("trust_forwarded_for"),
        "a removed setting"
    );
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
    let mounts = strings(&services["ingress"]["volumes"]);
    assert!(
        mounts.iter().any(|m| m.starts_with("./compose/haproxy.cfg:")),
        "the checked config is the one mounted"
    );
}

#[test]
fn each_container_gets_its_own_secret_files_for_its_own_user_and_no_ca_key() {
    let compose = compose();
    let services = compose["services"].as_object().expect("services");
    let copies = copies(&compose);
    for (from, to, _) in &copies {
        assert!(
            givable(from),
            "secret-files copies {from} (to {to}): a CA key, or nothing make-secrets.sh makes"
        );
    }
    // Only the copying step sees the host's secret directory.
    for (name, spec) in services {
        for volume in strings(&spec["volumes"]) {
            if volume.starts_with("./compose/secrets") {
                assert_eq!(
                    name, "secret-files",
                    "{name} mounts the host's secrets directly: {volume}"
                );
                assert_eq!(volume, "./compose/secrets:/from:ro", "read-only");
            }
        }
    }
    // (service, user, the files it reads): every one is copied for it, owned by it, and
    // nothing else is copied into its volume.
    let mut readers: Vec<(String, u32, Vec<String>)> = Vec::new();
    for service in SERVICES {
        let spec = &services[service];
        let uid: u32 = spec["user"]
            .as_str()
            .expect("user")
            .split(':')
            .next()
            .expect("uid")
            .parse()
            .expect("uid");
        let env = spec["environment"].as_object().expect("environment");
        let mut files: Vec<String> = env
            .iter()
            .filter(|(k, _)| k.ends_with("_FILE"))
            .map(|(_, v)| v.as_str().expect("path").to_owned())
            .collect();
        let tls = env["AGENTAUTH__INTERNAL_TLS__DIR"].as_str().expect("internal TLS dir");
        for file in [
            "ca.pem".to_owned(),
            format!("{service}.pem"),
            format!("{service}-key.pem"),
        ] {
            files.push(format!("{tls}/{file}"));
        }
        readers.push((service.to_owned(), uid, files));
    }
    let haproxy = std::fs::read_to_string(repo().join("deploy/compose/haproxy.cfg")).expect("haproxy.cfg");
    let certificate = haproxy
        .split_whitespace()
        .skip_while(|w| *w != "crt")
        .nth(1)
        .expect("the ingress certificate")
        .to_owned();
    let ingress_uid: u32 = services["ingress"]["user"]
        .as_str()
        .expect("the ingress runs as a named uid")
        .split(':')
        .next()
        .expect("uid")
        .parse()
        .expect("uid");
    readers.push(("ingress".into(), ingress_uid, vec![certificate]));
    let mut given = BTreeSet::new();
    for (service, uid, files) in &readers {
        for file in files {
            let copied = copied_path(&compose, service, file)
                .unwrap_or_else(|| panic!("{service}: {file} is in no volume secret-files fills"));
            let (_, _, owner) = copies
                .iter()
                .find(|(_, to, _)| *to == copied)
                .unwrap_or_else(|| panic!("{service}: secret-files copies nothing to {copied} ({file})"));
            assert_eq!(owner, uid, "{service}: {file} belongs to its user");
            given.insert(copied);
        }
        assert_eq!(
            services[service.as_str()]["depends_on"]["secret-files"]["condition"],
            "service_completed_successfully",
            "{service} starts once its files are copied"
        );
    }
    let redis_conf = "redis/redis.conf";
    let all: BTreeSet<String> = copies.iter().map(|(_, to, _)| to.clone()).collect();
    assert_eq!(given, all, "secret-files copies only files a container reads");
    // Redis: its password from a config file the step writes, not from its arguments.
    let redis = &services["redis"];
    let command = strings(&redis["command"]);
    assert_eq!(command[0], "redis-server");
    assert!(
        !command.iter().any(|a| a.contains("requirepass") || a.contains("$(")),
        "redis-server's arguments carry no password: {command:?}"
    );
    assert_eq!(
        copied_path(&compose, "redis", command[1]).as_deref(),
        Some(redis_conf),
        "redis-server reads the config file secret-files writes"
    );
    let script = strings(&services["secret-files"]["command"]).join("\n");
    assert!(
        script.contains(&format!("/to/{redis_conf}")) && script.contains("requirepass"),
        "secret-files writes {redis_conf}"
    );
    // And on the host, nothing is made world-readable.
    let make = std::fs::read_to_string(repo().join("deploy/make-secrets.sh")).expect("make-secrets.sh");
    assert!(make.contains("umask 077"), "make-secrets.sh makes owner-only files");
    assert!(
        !make.contains("a+r") && !make.contains("o+r"),
        "make-secrets.sh makes nothing world-readable"
    );
    let script = std::fs::read_to_string(repo().join("deploy/compose/secrets.sh")).expect("secrets.sh");
    assert!(!script.contains("--world-readable"));
}
