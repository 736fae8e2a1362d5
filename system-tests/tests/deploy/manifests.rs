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
        for object in objects.iter() {
            assert_eq!(
                object["metadata"]["namespace"].as_str().unwrap_or("agentauth"),
                "agentauth",
                "{overlay}: everything in the agentauth namespace"
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

#[test]
fn production_scales_token_service_and_keeps_a_replica_of_each_through_disruptions() {
    let production = objects("production");
    let hpa = named(production, "HorizontalPodAutoscaler", "token-service");
    assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], "token-service");
    assert!(hpa["spec"]["minReplicas"].as_u64().is_some_and(|n| n >= 2));
    for service in SERVICES {
        let pdb = named(production, "PodDisruptionBudget", service);
        assert_eq!(
            pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"],
            service
        );
        let replicas = named(production, "Deployment", service)["spec"]["replicas"]
            .as_u64()
            .unwrap_or(1);
        assert!(replicas >= 2, "production/{service}: at least two replicas");
    }
    let dev = objects("dev");
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
        for service in SERVICES {
            assert_eq!(
                allowed_sources(objects, service, 8080),
                set(&["namespace:ingress-nginx"]),
                "{overlay}: only the ingress controller reaches {service}'s HTTP port"
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
