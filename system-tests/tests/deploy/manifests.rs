//! `k8s/`: every overlay builds and validates, and what it deploys agrees with the code.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use crate::routing::{check_table, httproute_rules, ingress_rules};
use crate::{SERVICES, check_environment, repo, run, yaml_documents};

/// The Kubernetes version the manifests are validated against.
const KUBERNETES: &str = "1.32.0";
const OVERLAYS: [&str; 4] = ["dev", "production", "production-gateway-api", "production-monitoring"];

/// Each overlay built once: (its YAML, its objects).
fn built(overlay: &str) -> &'static (String, Vec<Value>) {
    static BUILT: OnceLock<BTreeMap<&'static str, (String, Vec<Value>)>> = OnceLock::new();
    let all = BUILT.get_or_init(|| {
        OVERLAYS
            .iter()
            .map(|o| {
                let dir = repo().join("k8s/overlays").join(o);
                let yaml = run(Command::new("kubectl").arg("kustomize").arg(&dir), "");
                let objects = yaml_documents(&yaml);
                (*o, (yaml, objects))
            })
            .collect()
    });
    &all[overlay]
}

fn objects(overlay: &str) -> &'static [Value] {
    &built(overlay).1
}

fn named<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

#[test]
fn every_overlay_builds_and_validates_strictly() {
    let dir = tempfile::tempdir().expect("dir");
    for overlay in OVERLAYS {
        let (yaml, objects) = built(overlay);
        let file = dir.path().join(format!("{overlay}.yaml"));
        std::fs::write(&file, yaml).expect("write");
        let report = run(
            Command::new("kubernetes-validate")
                .args(["--strict", "-k", KUBERNETES, "--quiet"])
                .arg(&file),
            "",
        );
        println!(
            "{overlay}: {} objects valid against Kubernetes {KUBERNETES} {report}",
            objects.len()
        );
        // Named explicitly: an object without a namespace lands in whatever namespace
        // the operator's kubectl context points at (a component's objects, unless the
        // overlay that adds them sets it).
        for object in objects.iter().filter(|o| o["kind"] != "Namespace") {
            assert_eq!(
                object["metadata"]["namespace"].as_str(),
                Some("agentauth"),
                "{overlay}: {} {} in the agentauth namespace",
                object["kind"],
                object["metadata"]["name"]
            );
        }
    }
}

#[test]
fn the_ingress_and_the_httproute_route_every_public_route_to_its_service_and_nothing_internal() {
    for overlay in ["dev", "production"] {
        check_table(
            &ingress_rules(objects(overlay)),
            &format!("k8s/overlays/{overlay} Ingress"),
        );
    }
    let gateway = objects("production-gateway-api");
    assert!(
        gateway.iter().all(|o| o["kind"] != "Ingress"),
        "the HTTPRoute replaces the Ingress"
    );
    check_table(&httproute_rules(gateway), "k8s/components/gateway-api HTTPRoute");
}

/// A Deployment: its name, the object, its container's effective environment.
type Deployed<'a> = (String, &'a Value, Vec<(String, String)>);

/// Each Deployment's container, its effective environment (ConfigMap, then env).
fn containers(objects: &[Value]) -> Vec<Deployed<'_>> {
    let config = objects
        .iter()
        .find(|o| o["kind"] == "ConfigMap")
        .expect("agentauth-config");
    let shared: Vec<(String, String)> = config["data"]
        .as_object()
        .expect("data")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("string").to_owned()))
        .collect();
    objects
        .iter()
        .filter(|o| o["kind"] == "Deployment")
        .map(|deployment| {
            let name = deployment["metadata"]["name"].as_str().expect("name").to_owned();
            let container = &deployment["spec"]["template"]["spec"]["containers"][0];
            let mut env = shared.clone();
            for var in container["env"].as_array().into_iter().flatten() {
                let key = var["name"].as_str().expect("name").to_owned();
                env.retain(|(k, _)| *k != key);
                env.push((key, var["value"].as_str().expect("literal value").to_owned()));
            }
            (name, deployment, env)
        })
        .collect()
}

fn env_value<'a>(env: &'a [(String, String)], key: &str) -> Option<&'a str> {
    env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[test]
fn deployments_run_each_binary_with_settings_it_reads_and_probes_on_its_ports() {
    for overlay in OVERLAYS {
        let objects = objects(overlay);
        let deployed = containers(objects);
        let names: BTreeSet<&str> = deployed.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(
            names,
            SERVICES.into_iter().collect(),
            "{overlay}: one Deployment per service"
        );
        for (service, deployment, env) in &deployed {
            let origin = format!("{overlay}/{service}");
            let container = &deployment["spec"]["template"]["spec"]["containers"][0];
            assert_eq!(
                container["command"],
                serde_json::json!([service]),
                "{origin}: runs its own binary"
            );
            check_environment(service, env, &origin);
            let port = |name: &str| {
                container["ports"]
                    .as_array()
                    .expect("ports")
                    .iter()
                    .find(|p| p["name"] == name)
                    .and_then(|p| p["containerPort"].as_u64())
                    .unwrap_or_else(|| panic!("{origin}: no {name} port"))
            };
            let setting = |key: &str| env_value(env, key).and_then(|v| v.parse::<u64>().ok());
            assert_eq!(
                Some(port("http")),
                setting("AGENTAUTH__HTTP__PORT"),
                "{origin}: http port"
            );
            assert_eq!(
                Some(port("grpc")),
                setting("AGENTAUTH__GRPC__PORT"),
                "{origin}: grpc port"
            );
            for (probe, path) in [
                ("startupProbe", "/healthz"),
                ("livenessProbe", "/healthz"),
                ("readinessProbe", "/readyz"),
            ] {
                assert_eq!(container[probe]["httpGet"]["path"], path, "{origin}: {probe}");
                assert_eq!(container[probe]["httpGet"]["port"], "http", "{origin}: {probe} port");
            }
            check_grace(deployment, env, &origin);
            check_headless_service(objects, service, &origin);
        }
        check_peers(&deployed, overlay);
    }
}

/// SIGKILL must not come before the drain delay and the grace period are over.
fn check_grace(deployment: &Value, env: &[(String, String)], origin: &str) {
    let defaults = shared::shutdown::ShutdownSettings::default();
    let parse = |key: &str, default: Duration| {
        env_value(env, key).map_or(default, |v| humantime::parse_duration(v).expect("a duration"))
    };
    let drain = parse("AGENTAUTH__SHUTDOWN__DRAIN_DELAY", defaults.drain_delay);
    let grace = parse("AGENTAUTH__SHUTDOWN__GRACE", defaults.grace);
    let termination = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        .as_u64()
        .unwrap_or(30);
    assert!(
        Duration::from_secs(termination) > drain + grace,
        "{origin}: terminationGracePeriodSeconds {termination} must exceed drain {drain:?} + grace {grace:?}"
    );
    // /readyz answers 503 from SIGTERM on: the probe must see it while the replica still
    // serves, and one failed probe alone must not take a replica out.
    let readiness = &deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"];
    let period = readiness["periodSeconds"].as_u64().unwrap_or(10);
    let failures = readiness["failureThreshold"].as_u64().unwrap_or(3);
    assert!(failures >= 2, "{origin}: readiness failureThreshold {failures} flaps");
    assert!(
        Duration::from_secs(period * failures) < drain,
        "{origin}: readiness needs {period} s × {failures} to see the drain, longer than {drain:?}"
    );
}

/// A headless Service named after the service, on its gRPC port: callers balance per pod.
fn check_headless_service(objects: &[Value], service: &str, origin: &str) {
    let headless = named(objects, "Service", service);
    assert_eq!(
        headless["spec"]["clusterIP"], "None",
        "{origin}: the gRPC Service is headless"
    );
    assert_eq!(headless["spec"]["ports"][0]["targetPort"], "grpc", "{origin}");
    assert_eq!(headless["spec"]["ports"][0]["port"], 50051, "{origin}");
    let http = named(objects, "Service", &format!("{service}-http"));
    assert_eq!(http["spec"]["ports"][0]["targetPort"], "http", "{origin}");
    for svc in [headless, http] {
        assert_eq!(
            svc["spec"]["selector"]["app.kubernetes.io/name"], service,
            "{origin}: selector"
        );
    }
}

/// The peers each signer dials (their defaults, or the manifests' overrides) are the
/// headless Services, on their gRPC port.
fn check_peers(deployed: &[Deployed<'_>], overlay: &str) {
    let identity = identity_service::settings::Settings::default();
    let token = token_service::settings::Settings::default();
    let peers = [
        (
            "identity-service",
            "AGENTAUTH__JWKS__URL",
            identity.jwks.url.clone(),
            "jwks-service",
        ),
        (
            "token-service",
            "AGENTAUTH__JWKS__URL",
            token.jwks.url.clone(),
            "jwks-service",
        ),
        (
            "token-service",
            "AGENTAUTH__IDENTITY__URL",
            token.identity.url.clone(),
            "identity-service",
        ),
    ];
    for (service, key, default, peer) in peers {
        let env = &deployed.iter().find(|(n, _, _)| n == service).expect("deployed").2;
        let url = env_value(env, key).map_or(default, str::to_owned);
        assert_eq!(url, format!("http://{peer}:50051"), "{overlay}/{service}: {key}");
    }
}

#[test]
fn every_pod_runs_as_the_restricted_profile_asks() {
    for overlay in OVERLAYS {
        for workload in objects(overlay)
            .iter()
            .filter(|o| o["kind"] == "Deployment" || o["kind"] == "StatefulSet")
        {
            let name = workload["metadata"]["name"].as_str().expect("name");
            let pod = &workload["spec"]["template"]["spec"];
            let origin = format!("{overlay}/{name}");
            assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{origin}");
            assert!(
                pod["securityContext"]["runAsUser"].as_u64().is_some_and(|u| u > 0),
                "{origin}"
            );
            assert_eq!(
                pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
                "{origin}"
            );
            assert_eq!(pod["automountServiceAccountToken"], false, "{origin}");
            for container in pod["containers"].as_array().expect("containers") {
                let security = &container["securityContext"];
                assert_eq!(security["allowPrivilegeEscalation"], false, "{origin}");
                assert_eq!(security["readOnlyRootFilesystem"], true, "{origin}");
                assert_eq!(security["capabilities"]["drop"], serde_json::json!(["ALL"]), "{origin}");
                assert!(
                    container["resources"]["requests"]["cpu"].is_string(),
                    "{origin}: requests"
                );
                assert!(
                    container["resources"]["limits"]["memory"].is_string(),
                    "{origin}: memory limit"
                );
            }
        }
    }
}

/// Every workload's pod template, by `overlay/name`.
fn pods(overlay: &str) -> impl Iterator<Item = (String, &'static Value)> {
    objects(overlay)
        .iter()
        .filter(|o| o["kind"] == "Deployment" || o["kind"] == "StatefulSet")
        .map(move |w| {
            (
                format!("{overlay}/{}", w["metadata"]["name"].as_str().expect("name")),
                &w["spec"]["template"]["spec"],
            )
        })
}

#[test]
fn every_pod_reads_its_secret_files_and_no_other_user_can() {
    for overlay in OVERLAYS {
        for (origin, pod) in pods(overlay) {
            let security = &pod["securityContext"];
            let group = security["runAsGroup"].as_u64().expect("runAsGroup");
            // The kubelet writes Secret files owned by root. Only with fsGroup are they
            // group-owned by the pod's group, which a non-root user needs to read them.
            assert_eq!(
                security["fsGroup"].as_u64(),
                Some(group),
                "{origin}: fsGroup makes the Secret files the pod's group's"
            );
            for volume in pod["volumes"].as_array().expect("volumes") {
                let Some(secret) = volume.get("secret") else { continue };
                let name = volume["name"].as_str().expect("name");
                let items = secret["items"].as_array().expect("every Secret volume names its keys");
                for item in items {
                    // 0644 is Kubernetes' default when none is given.
                    let mode = item["mode"]
                        .as_u64()
                        .or(secret["defaultMode"].as_u64())
                        .unwrap_or(0o644);
                    assert_eq!(
                        mode, 0o440,
                        "{origin}: volume {name} key {}: mode {mode:o}, want 0440 (owner root, group the pod's, no others)",
                        item["key"]
                    );
                }
            }
        }
    }
}

#[test]
fn no_two_replicas_share_a_node_while_another_node_could_take_one() {
    for overlay in OVERLAYS {
        for (origin, pod) in pods(overlay).filter(|(o, _)| !o.ends_with("/redis")) {
            let spread = pod["topologySpreadConstraints"]
                .as_array()
                .expect("topologySpreadConstraints");
            let by_node = spread
                .iter()
                .find(|c| c["topologyKey"] == "kubernetes.io/hostname")
                .unwrap_or_else(|| panic!("{origin}: no spread over nodes"));
            assert_eq!(by_node["whenUnsatisfiable"], "DoNotSchedule", "{origin}");
            assert_eq!(by_node["maxSkew"], 1, "{origin}");
        }
    }
}

/// `One identity-service replica serves up to **N** token-service replicas` in the
/// README's Capacity section: the measured ratio the HPAs are sized by.
fn stated_capacity_ratio() -> u64 {
    let readme = std::fs::read_to_string(super::repo().join("README.md")).expect("README");
    let marker = "One identity-service replica serves up to **";
    let at = readme.find(marker).expect("the README states the capacity ratio") + marker.len();
    readme[at..]
        .split("**")
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a number")
}

#[test]
fn the_identity_tier_scales_with_the_token_tier_by_the_stated_ratio() {
    let ratio = stated_capacity_ratio();
    for overlay in OVERLAYS.into_iter().filter(|o| o.starts_with("production")) {
        let production = objects(overlay);
        let bounds = |name: &str| {
            let hpa = named(production, "HorizontalPodAutoscaler", name);
            assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], name);
            (
                hpa["spec"]["minReplicas"].as_u64().unwrap_or(1),
                hpa["spec"]["maxReplicas"].as_u64().expect("maxReplicas"),
            )
        };
        let (token_min, token_max) = bounds("token-service");
        let (identity_min, identity_max) = bounds("identity-service");
        assert!(identity_min >= 2, "{overlay}: two identity replicas at least");
        assert!(
            identity_max * ratio >= token_max,
            "{overlay}: {identity_max} identity replicas serve {} token replicas, not {token_max}",
            identity_max * ratio
        );
        assert!(identity_min * ratio >= token_min, "{overlay}: the floors agree too");
        assert!(
            identity_max <= token_max.div_ceil(ratio) + 2,
            "{overlay}: no idle headroom beyond the ratio and a spare"
        );
    }
}

#[test]
fn production_scales_token_service_and_keeps_a_replica_of_each_through_disruptions() {
    for overlay in OVERLAYS.into_iter().filter(|o| o.starts_with("production")) {
        let production = objects(overlay);
        let hpa = named(production, "HorizontalPodAutoscaler", "token-service");
        assert_eq!(hpa["spec"]["scaleTargetRef"]["kind"], "Deployment");
        assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], "token-service");
        let min = hpa["spec"]["minReplicas"].as_u64().unwrap_or(1);
        assert!(min >= 2, "{overlay}: the HPA keeps two token-service replicas at least");
        for service in SERVICES {
            let origin = format!("{overlay}/{service}");
            let pdb = named(production, "PodDisruptionBudget", service);
            assert_eq!(
                pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"],
                service
            );
            assert_eq!(pdb["spec"]["minAvailable"], 1, "{origin}");
            // A replica that is not ready protects nothing: draining a node may evict it.
            assert_eq!(
                pdb["spec"]["unhealthyPodEvictionPolicy"], "AlwaysAllow",
                "{origin}: an unhealthy pod must not block a drain"
            );
            let replicas = &named(production, "Deployment", service)["spec"]["replicas"];
            if service != "jwks-service" {
                // Each `kubectl apply` would otherwise reset what the HPA scaled to.
                assert!(
                    replicas.is_null(),
                    "{origin}: the HPA owns replicas, yet {replicas} is set"
                );
            } else {
                assert!(
                    replicas.as_u64().is_some_and(|n| n >= 2),
                    "{origin}: at least two replicas"
                );
            }
        }
    }
    let dev = objects("dev");
    assert!(
        dev.iter().all(|o| o["kind"] != "HorizontalPodAutoscaler"),
        "dev: no HPA, so its replicas stay"
    );
    for service in SERVICES {
        assert_eq!(
            named(dev, "Deployment", service)["spec"]["replicas"],
            1,
            "dev/{service}"
        );
    }
    named(dev, "StatefulSet", "redis");
}

/// Who may open a connection to pods labelled `target` on `port`, by pod label.
fn allowed_sources(objects: &[Value], target: &str, port: u64) -> BTreeSet<String> {
    let mut sources = BTreeSet::new();
    for policy in objects.iter().filter(|o| o["kind"] == "NetworkPolicy") {
        let selector = &policy["spec"]["podSelector"];
        let selects = selector["matchLabels"]["app.kubernetes.io/name"] == target
            || selector["matchExpressions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|e| e["values"].as_array().is_some_and(|v| v.iter().any(|x| x == target)));
        if !selects {
            continue;
        }
        for rule in policy["spec"]["ingress"].as_array().into_iter().flatten() {
            let on_port = rule["ports"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["port"] == port));
            if !on_port {
                continue;
            }
            for from in rule["from"].as_array().expect("every ingress rule names its sources") {
                if let Some(name) = from["podSelector"]["matchLabels"]["app.kubernetes.io/name"].as_str() {
                    sources.insert(name.to_owned());
                } else if let Some(values) = from["podSelector"]["matchExpressions"][0]["values"].as_array() {
                    sources.extend(values.iter().filter_map(|v| v.as_str()).map(str::to_owned));
                } else if let Some(ns) =
                    from["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"].as_str()
                {
                    sources.insert(format!("namespace:{ns}"));
                } else {
                    panic!(
                        "{}: a source wider than a pod or namespace label",
                        policy["metadata"]["name"]
                    );
                }
            }
        }
    }
    sources
}

#[test]
fn network_policies_deny_by_default_and_open_only_the_designed_paths() {
    let set = |names: &[&str]| names.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
    for overlay in OVERLAYS {
        let objects = objects(overlay);
        let deny = named(objects, "NetworkPolicy", "default-deny");
        assert_eq!(deny["spec"]["podSelector"], serde_json::json!({}));
        assert_eq!(deny["spec"]["policyTypes"], serde_json::json!(["Ingress", "Egress"]));
        assert!(deny["spec"].get("ingress").is_none() && deny["spec"].get("egress").is_none());
        // The ingress controller's namespace; with the Gateway API, the Gateway's.
        let front = if overlay == "production-gateway-api" {
            "namespace:agentauth-gateway"
        } else {
            "namespace:ingress-nginx"
        };
        for service in SERVICES {
            assert_eq!(
                allowed_sources(objects, service, 8080),
                set(&[front]),
                "{overlay}: only the ingress controller or gateway reaches {service}'s HTTP port"
            );
        }
        assert_eq!(
            allowed_sources(objects, "identity-service", 50051),
            set(&["agentctl", "token-service"])
        );
        assert_eq!(
            allowed_sources(objects, "jwks-service", 50051),
            set(&["agentctl", "identity-service", "token-service"])
        );
        assert_eq!(
            allowed_sources(objects, "token-service", 50051),
            set(&["agentctl", "identity-service"])
        );
        if overlay == "dev" {
            assert_eq!(allowed_sources(objects, "redis", 6379), set(&SERVICES));
        }
        for service in SERVICES {
            let redis = allowed_destinations(objects, service, 6379);
            assert!(
                redis.contains("pod:redis"),
                "{overlay}/{service}: Redis in the namespace"
            );
            if overlay.starts_with("production") {
                // An external Redis: a server or Cluster node (6379, 6380 with TLS by
                // convention) or Sentinel (26379).
                for port in [6379, 6380, 26379] {
                    assert!(
                        allowed_destinations(objects, service, port).contains("ipBlock:10.0.0.0/8"),
                        "{overlay}/{service}: external Redis on {port}"
                    );
                }
            }
        }
    }
}

/// Where pods labelled `source` may open connections on `port`, by the NetworkPolicies
/// that select them: `any`, `ipBlock:CIDR` (its exceptions aside), `pod:NAME`,
/// `namespace:NS`, or `pod:NAME@namespace:NS`.
fn allowed_destinations(objects: &[Value], source: &str, port: u64) -> BTreeSet<String> {
    let mut destinations = BTreeSet::new();
    for policy in objects.iter().filter(|o| o["kind"] == "NetworkPolicy") {
        let selector = &policy["spec"]["podSelector"];
        let selects = selector["matchLabels"]["app.kubernetes.io/name"] == source
            || selector["matchExpressions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|e| e["values"].as_array().is_some_and(|v| v.iter().any(|x| x == source)));
        if !selects {
            continue;
        }
        for rule in policy["spec"]["egress"].as_array().into_iter().flatten() {
            // No ports: every port. A port with endPort: the range.
            let on_port = rule["ports"].as_array().is_none_or(|ps| {
                ps.iter().any(|p| {
                    let from = p["port"].as_u64();
                    let to = p["endPort"].as_u64().or(from);
                    from.is_some_and(|f| (f..=to.unwrap_or(f)).contains(&port))
                })
            });
            if !on_port {
                continue;
            }
            let Some(to) = rule["to"].as_array() else {
                destinations.insert("any".to_owned());
                continue;
            };
            for peer in to {
                let pod = peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"].as_str();
                let namespace = peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"].as_str();
                let described = match (pod, namespace, peer["ipBlock"]["cidr"].as_str()) {
                    (_, _, Some(cidr)) => format!("ipBlock:{cidr}"),
                    (Some(pod), None, None) => format!("pod:{pod}"),
                    (Some(pod), Some(ns), None) => format!("pod:{pod}@namespace:{ns}"),
                    (None, Some(ns), None) => format!("namespace:{ns}"),
                    (None, None, None) => {
                        let pods = &peer["podSelector"]["matchLabels"];
                        format!("pods:{pods}")
                    }
                };
                destinations.insert(described);
            }
        }
    }
    destinations
}

/// The gateway-api overlay admits the Gateway's namespace, and that namespace is one
/// setting: the HTTPRoute's parentRefs, which a kustomize replacement copies into the
/// NetworkPolicy. Changed there, the policy follows.
#[test]
fn the_gateway_api_overlay_admits_the_gateway_named_in_its_httproute() {
    let set = |names: &[&str]| names.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
    let gateway = objects("production-gateway-api");
    let route = named(gateway, "HTTPRoute", "agentauth");
    assert_eq!(route["spec"]["parentRefs"][0]["namespace"], "agentauth-gateway");
    for service in SERVICES {
        assert_eq!(
            allowed_sources(gateway, service, 8080),
            set(&["namespace:agentauth-gateway"]),
            "{service}"
        );
    }
    // A copy of k8s/ whose HTTPRoute names another Gateway namespace.
    let dir = tempfile::tempdir().expect("dir");
    copy_tree(&repo().join("k8s"), &dir.path().join("k8s"));
    let route_file = dir.path().join("k8s/components/gateway-api/httproute.yaml");
    let text = std::fs::read_to_string(&route_file).expect("httproute.yaml");
    assert_eq!(
        text.matches("namespace: agentauth-gateway").count(),
        1,
        "one place names it"
    );
    std::fs::write(
        &route_file,
        text.replace("namespace: agentauth-gateway", "namespace: edge-gateways"),
    )
    .expect("write");
    let overlay = dir.path().join("k8s/overlays/production-gateway-api");
    let moved = yaml_documents(&run(Command::new("kubectl").arg("kustomize").arg(&overlay), ""));
    for service in SERVICES {
        assert_eq!(
            allowed_sources(&moved, service, 8080),
            set(&["namespace:edge-gateways"]),
            "{service}: the NetworkPolicy follows parentRefs"
        );
    }
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

#[test]
fn monitoring_ships_the_checked_alert_rules_and_scrapes_only_the_metrics_port() {
    let objects = objects("production-monitoring");
    let rule = named(objects, "PrometheusRule", "agentauth");
    let alerts = std::fs::read_to_string(repo().join("deploy/prometheus/alerts.yml")).expect("alerts.yml");
    let alerts = yaml_documents(&alerts).remove(0);
    assert_eq!(
        rule["spec"], alerts,
        "the PrometheusRule is deploy/prometheus/alerts.yml"
    );
    let monitor = named(objects, "PodMonitor", "agentauth");
    assert_eq!(monitor["spec"]["podMetricsEndpoints"][0]["port"], "metrics");
    let dashboard = named(objects, "ConfigMap", "agentauth-dashboard");
    assert_eq!(dashboard["metadata"]["labels"]["grafana_dashboard"], "1");
    let json: Value =
        serde_json::from_str(dashboard["data"]["agentauth-dashboard.json"].as_str().expect("json")).expect("dashboard");
    assert!(json["panels"].as_array().is_some_and(|p| p.len() >= 8));
    let set = |names: &[&str]| names.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
    for service in SERVICES {
        assert_eq!(
            allowed_sources(objects, service, 9090),
            set(&["namespace:monitoring"]),
            "{service} metrics"
        );
    }
}

#[test]
fn identity_and_token_service_count_the_address_their_one_trusted_proxy_wrote() {
    for overlay in OVERLAYS {
        let (yaml, objects) = built(overlay);
        assert!(
            !yaml.to_lowercase().contains("trust_forwarded_for"),
            "{overlay}: trust_forwarded_for was removed; client_address.trusted_proxy_hops replaced it"
        );
        for (service, _, env) in containers(objects) {
            if service == "jwks-service" {
                continue;
            }
            assert_eq!(
                env_value(&env, "AGENTAUTH__CLIENT_ADDRESS__TRUSTED_PROXY_HOPS"),
                Some("1"),
                "{overlay}/{service}: one proxy (the ingress controller or gateway) in front"
            );
            assert_eq!(
                env_value(&env, "AGENTAUTH__CLIENT_ADDRESS__HEADER").unwrap_or("x-forwarded-for"),
                "x-forwarded-for",
                "{overlay}/{service}: the header the ingress overwrites"
            );
        }
    }
    // The gateway keeps X-Forwarded-For (it appends its view) and drops the headers a
    // client could forge on every route.
    for route in objects("production-gateway-api")
        .iter()
        .filter(|o| o["kind"] == "HTTPRoute")
    {
        for rule in route["spec"]["rules"].as_array().expect("rules") {
            let removed: BTreeSet<String> = rule["filters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|f| f["type"] == "RequestHeaderModifier")
                .flat_map(|f| {
                    f["requestHeaderModifier"]["remove"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                })
                .filter_map(|h| h.as_str().map(str::to_lowercase))
                .collect();
            assert!(
                removed.contains("forwarded") && removed.contains("x-real-ip"),
                "HTTPRoute rule {}: removes Forwarded and X-Real-IP, removes {removed:?}",
                rule["backendRefs"][0]["name"]
            );
        }
    }
}

/// The file a path in the Deployment's container is, when a Secret volume holds it: the
/// Secret's name and key.
fn secret_file(deployment: &Value, path: &str) -> Option<(String, String)> {
    let pod = &deployment["spec"]["template"]["spec"];
    for mount in pod["containers"][0]["volumeMounts"].as_array()? {
        let dir = mount["mountPath"].as_str()?;
        let Some(rest) = path.strip_prefix(dir).and_then(|r| r.strip_prefix('/')) else {
            continue;
        };
        let volume = pod["volumes"].as_array()?.iter().find(|v| v["name"] == mount["name"])?;
        let secret = volume.get("secret")?;
        let key = match secret["items"].as_array() {
            Some(items) => items.iter().find(|i| i["path"] == rest)?["key"].as_str()?.to_owned(),
            None => rest.to_owned(),
        };
        return Some((secret["secretName"].as_str()?.to_owned(), key));
    }
    None
}

/// Every file setting points at a key of a mounted Secret, and the Secrets the pods need
/// are exactly what the operator documentation tells operators to create.
#[test]
fn every_secret_file_a_setting_names_is_a_mounted_secret_key() {
    let secrets = |pairs: &[(&str, &[&str])]| -> BTreeMap<String, BTreeSet<String>> {
        pairs
            .iter()
            .map(|(name, keys)| ((*name).to_owned(), keys.iter().map(|k| (*k).to_owned()).collect()))
            .collect()
    };
    let tls: Vec<String> = std::iter::once("ca.pem".to_owned())
        .chain(
            SERVICES
                .iter()
                .flat_map(|s| [format!("{s}.pem"), format!("{s}-key.pem")]),
        )
        .collect();
    let tls: Vec<&str> = tls.iter().map(String::as_str).collect();
    for overlay in OVERLAYS {
        let mut needed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (service, deployment, env) in containers(objects(overlay)) {
            let origin = format!("{overlay}/{service}");
            let mut files: Vec<(String, String)> = env.iter().filter(|(k, _)| k.ends_with("_FILE")).cloned().collect();
            let tls_dir = env_value(&env, "AGENTAUTH__INTERNAL_TLS__DIR").expect("internal TLS");
            for file in [
                "ca.pem".to_owned(),
                format!("{service}.pem"),
                format!("{service}-key.pem"),
            ] {
                files.push(("AGENTAUTH__INTERNAL_TLS__DIR".into(), format!("{tls_dir}/{file}")));
            }
            for (key, path) in files {
                let (secret, item) = secret_file(deployment, &path)
                    .unwrap_or_else(|| panic!("{origin}: {key}={path} is no mounted Secret file"));
                needed.entry(secret).or_default().insert(item);
            }
            // And nothing is mounted that no setting reads.
            let pod = &deployment["spec"]["template"]["spec"];
            for volume in pod["volumes"].as_array().expect("volumes") {
                let Some(secret) = volume.get("secret") else { continue };
                for item in secret["items"].as_array().expect("items") {
                    let name = secret["secretName"].as_str().expect("secretName");
                    let key = item["key"].as_str().expect("key");
                    let mounted = pod["containers"][0]["volumeMounts"]
                        .as_array()
                        .expect("mounts")
                        .iter()
                        .find(|m| m["name"] == volume["name"])
                        .and_then(|m| m["mountPath"].as_str())
                        .unwrap_or_else(|| panic!("{origin}: volume {} unmounted", volume["name"]));
                    let path = format!("{mounted}/{}", item["path"].as_str().expect("path"));
                    let read = env.iter().any(|(_, v)| *v == path) || path.starts_with(&format!("{tls_dir}/"));
                    assert!(read, "{origin}: {name}/{key} mounted at {path}, read by no setting");
                }
            }
        }
        let expected = if overlay == "dev" {
            secrets(&[
                ("agentauth-secrets", &["kek", "pepper", "redis-password"]),
                ("agentauth-internal-tls", &tls),
            ])
        } else {
            secrets(&[
                (
                    "agentauth-secrets",
                    &["kek", "pepper", "redis-password", "smtp-password"],
                ),
                ("agentauth-internal-tls", &tls),
                ("agentauth-redis-ca", &["ca.pem"]),
            ])
        };
        assert_eq!(needed, expected, "{overlay}: the Secrets operators create");
    }
}

#[tokio::test]
async fn identity_service_mails_through_an_smtp_relay_with_the_password_from_its_secret() {
    for overlay in OVERLAYS {
        let objects = objects(overlay);
        for (service, deployment, env) in containers(objects) {
            let origin = format!("{overlay}/{service}");
            let password = env_value(&env, "AGENTAUTH__MAIL__SMTP__PASSWORD__FILE");
            if service != "identity-service" || overlay == "dev" {
                // Only identity-service sends mail, and a dev cluster has no relay.
                assert!(password.is_none(), "{origin}: no SMTP password");
                let pod = &deployment["spec"]["template"]["spec"];
                assert!(
                    !pod["volumes"].to_string().contains("smtp-password"),
                    "{origin}: smtp-password is mounted for identity-service only"
                );
                if service == "identity-service" {
                    assert_eq!(env_value(&env, "AGENTAUTH__MAIL__BACKEND"), Some("outbox"), "{origin}");
                }
                continue;
            }
            assert_eq!(env_value(&env, "AGENTAUTH__MAIL__BACKEND"), Some("smtp"), "{origin}");
            let password = password.unwrap_or_else(|| panic!("{origin}: no mail.smtp.password.file"));
            assert_eq!(
                secret_file(deployment, password),
                Some(("agentauth-secrets".to_owned(), "smtp-password".to_owned())),
                "{origin}: the SMTP password is agentauth-secrets' smtp-password"
            );
            // The deployed settings make a mailer (username and password together, a
            // host, a port, a security mode), with a stand-in for the password file.
            let dir = tempfile::tempdir().expect("dir");
            let stand_in = dir.path().join("smtp-password");
            std::fs::write(&stand_in, "relay-password\n").expect("write");
            let vars = env
                .iter()
                .filter(|(k, _)| k.starts_with("AGENTAUTH__"))
                .map(|(k, v)| {
                    let v = if v == password {
                        stand_in.display().to_string()
                    } else {
                        v.clone()
                    };
                    (k.clone(), v)
                })
                .collect();
            let settings: identity_service::settings::Settings = shared::settings::load(
                &identity_service::settings::Settings::default(),
                shared::settings::Sources { file: None, env: vars },
            )
            .unwrap_or_else(|e| panic!("{origin}: {e}"));
            assert!(!settings.mail.smtp.username.is_empty(), "{origin}: an SMTP account");
            identity_service::mail::from_settings(&settings.mail)
                .unwrap_or_else(|e| panic!("{origin}: the deployed SMTP settings make no mailer: {e}"));
            // The relay is reachable on every SMTP port, wherever it is.
            for port in [25, 465, 587] {
                let to = allowed_destinations(objects, "identity-service", port);
                assert!(to.contains("any"), "{origin}: egress to the relay on {port}: {to:?}");
            }
        }
        for service in ["jwks-service", "token-service"] {
            for port in [25, 465, 587] {
                assert!(
                    allowed_destinations(objects, service, port).is_empty(),
                    "{overlay}/{service} sends no mail: no egress on {port}"
                );
            }
        }
    }
}

/// The dev overlay's Redis, its start command run here: the password reaches Redis
/// through a config file in its emptyDir, never through redis-server's arguments.
#[test]
fn dev_redis_takes_its_password_from_a_file_not_its_command_line() {
    let redis = named(objects("dev"), "StatefulSet", "redis");
    let pod = &redis["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let command: Vec<&str> = container["command"]
        .as_array()
        .expect("command")
        .iter()
        .map(|c| c.as_str().expect("string"))
        .collect();
    assert_eq!(
        command[..2],
        ["sh", "-c"],
        "a shell writes the config file, then execs Redis"
    );
    let exec = command[2]
        .lines()
        .find(|l| l.trim_start().starts_with("exec redis-server"))
        .expect("exec redis-server");
    assert!(
        !exec.contains("requirepass") && !exec.contains("$("),
        "password-free arguments: {exec}"
    );
    // The mounts become directories here; Redis listens on a socket in one of them.
    let dir = tempfile::tempdir().expect("dir");
    let mut script = command[2].to_owned();
    let mut mounts: Vec<(&str, &str)> = container["volumeMounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .map(|m| {
            (
                m["mountPath"].as_str().expect("path"),
                m["name"].as_str().expect("name"),
            )
        })
        .collect();
    mounts.sort_by_key(|(path, _)| std::cmp::Reverse(path.len()));
    for (path, name) in &mounts {
        let local = dir.path().join(name);
        std::fs::create_dir_all(&local).expect("mkdir");
        script = script.replace(path, &local.display().to_string());
    }
    let password = "pa\"ss\\word with spaces";
    let secret_dir = dir.path().join("secrets");
    std::fs::write(secret_dir.join("redis-password"), format!("{password}\n")).expect("password");
    let socket = dir.path().join("redis.sock");
    let script = format!(
        "{} --port 0 --unixsocket {} --unixsocketperm 700",
        script.trim_end(),
        socket.display()
    );
    let mut server = Command::new("sh")
        .args(["-c", &script])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("sh");
    let cli = |auth: Option<&str>| {
        let mut command = Command::new("redis-cli");
        command.arg("-s").arg(&socket).arg("ping").env_remove("REDISCLI_AUTH");
        if let Some(auth) = auth {
            command.env("REDISCLI_AUTH", auth);
        }
        let output = command.output().expect("redis-cli");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    };
    let started = std::time::Instant::now();
    while !socket.exists() && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let with_password = cli(Some(password));
    let without = cli(None);
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", server.id())).unwrap_or_default();
    let conf_mode = std::fs::read_dir(dir.path().join("run"))
        .expect("run dir")
        .map(|e| {
            use std::os::unix::fs::PermissionsExt as _;
            e.expect("entry").metadata().expect("metadata").permissions().mode() & 0o777
        })
        .collect::<Vec<_>>();
    server.kill().expect("kill");
    server.wait().expect("wait");
    assert_eq!(with_password, "PONG", "the password from the secret file opens Redis");
    assert!(without.contains("NOAUTH"), "without it, Redis refuses: {without}");
    assert!(
        !String::from_utf8_lossy(&cmdline).contains("word with"),
        "the password is not in redis-server's arguments"
    );
    assert_eq!(conf_mode, [0o600], "the generated config file is Redis's alone");
}

/// `k8s/examples/agent`: validates as the overlays do, runs as the restricted profile
/// asks, and reads a projected token meant for our issuer alone, short-lived, from the
/// file its environment names.
#[test]
fn the_example_agent_reads_a_short_lived_token_for_our_issuer_from_its_projected_volume() {
    let dir = repo().join("k8s/examples/agent");
    let yaml = run(Command::new("kubectl").arg("kustomize").arg(&dir), "");
    let file = tempfile::NamedTempFile::new().expect("file");
    std::fs::write(file.path(), &yaml).expect("write");
    let report = run(
        Command::new("kubernetes-validate")
            .args(["--strict", "-k", KUBERNETES, "--quiet"])
            .arg(file.path()),
        "",
    );
    let example = yaml_documents(&yaml);
    println!(
        "examples/agent: {} objects valid against Kubernetes {KUBERNETES} {report}",
        example.len()
    );

    let issuer = containers(objects("production"))
        .iter()
        .find_map(|(_, _, env)| env_value(env, "AGENTAUTH__PUBLIC_BASE_URL").map(str::to_owned))
        .expect("the issuer is configured");
    let deployment = named(&example, "Deployment", "reporter");
    let pod = &deployment["spec"]["template"]["spec"];
    let account = named(&example, "ServiceAccount", "reporter");
    assert_eq!(pod["serviceAccountName"], "reporter");
    assert_eq!(
        pod["automountServiceAccountToken"], false,
        "no API credential in the pod"
    );
    assert_eq!(account["automountServiceAccountToken"], false);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");

    let volume = pod["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["projected"].is_object())
        .expect("a projected volume");
    let token = &volume["projected"]["sources"][0]["serviceAccountToken"];
    assert_eq!(
        token["audience"].as_str(),
        Some(issuer.as_str()),
        "meant for our issuer"
    );
    assert_eq!(token["expirationSeconds"], 600);
    let container = &pod["containers"][0];
    let security = &container["securityContext"];
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["capabilities"]["drop"], serde_json::json!(["ALL"]));
    let mount = container["volumeMounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .find(|m| m["name"] == volume["name"])
        .expect("the token volume is mounted");
    assert_eq!(mount["readOnly"], true);
    let path = format!(
        "{}/{}",
        mount["mountPath"].as_str().expect("path"),
        token["path"].as_str().expect("path")
    );
    let env = container["env"].as_array().expect("env");
    let named_file = env
        .iter()
        .find(|v| v["name"] == "AGENTAUTH_WORKLOAD_TOKEN_FILE")
        .expect("the agent is told where its token is");
    assert_eq!(named_file["value"].as_str(), Some(path.as_str()));
    let endpoint = env
        .iter()
        .find(|v| v["name"] == "AGENTAUTH_TOKEN_ENDPOINT")
        .expect("endpoint");
    assert_eq!(
        endpoint["value"].as_str(),
        Some(format!("{issuer}/oauth2/token").as_str())
    );
}
