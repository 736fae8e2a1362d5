//! One routing table, four spellings: the Kubernetes Ingress, the Gateway API HTTPRoute,
//! and the HAProxy configurations of the local topology and of Compose. Each must send
//! every public route a service mounts to that service, through exactly one rule, and
//! route nothing internal.

use serde_json::Value;

use crate::{SERVICES, repo};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    Exact(String),
    /// Element-wise prefix (Kubernetes `Prefix`, Gateway API `PathPrefix`).
    Segments(String),
    /// Plain string prefix (HAProxy `path_beg`).
    Bytes(String),
}

impl Matcher {
    pub fn matches(&self, path: &str) -> bool {
        match self {
            Self::Exact(p) => path == p,
            Self::Segments(p) => {
                let p = p.trim_end_matches('/');
                path == p || path.starts_with(&format!("{p}/"))
            }
            Self::Bytes(p) => path.starts_with(p.as_str()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub matcher: Matcher,
    pub service: String,
}

/// The public routes of each service, as the code mounts them.
fn public_routes() -> Vec<(&'static str, &'static str)> {
    let mut routes = Vec::new();
    routes.extend(jwks_service::http::ROUTES.iter().map(|r| ("jwks-service", *r)));
    routes.extend(identity_service::http::ROUTES.iter().map(|r| ("identity-service", *r)));
    routes.extend(token_service::http::ROUTES.iter().map(|r| ("token-service", *r)));
    routes
}

const INTERNAL: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// Every public route reaches its service through exactly one rule, nothing internal is
/// routed, and no rule is dead.
pub fn check_table(rules: &[Rule], origin: &str) {
    assert!(!rules.is_empty(), "{origin}: no routing rules found");
    let mut used = vec![false; rules.len()];
    for (service, route) in public_routes() {
        let path = route.replace("{path}", "some/resource");
        let matching: Vec<usize> = (0..rules.len()).filter(|i| rules[*i].matcher.matches(&path)).collect();
        assert_eq!(
            matching.len(),
            1,
            "{origin}: {path} must match exactly one rule, matches {matching:?}"
        );
        let rule = &rules[matching[0]];
        assert_eq!(
            rule.service, service,
            "{origin}: {path} goes to {} instead of {service}",
            rule.service
        );
        used[matching[0]] = true;
    }
    for path in INTERNAL {
        assert!(
            rules.iter().all(|r| !r.matcher.matches(path)),
            "{origin}: {path} is internal and must not be routed"
        );
    }
    for (rule, used) in rules.iter().zip(used) {
        assert!(used, "{origin}: {rule:?} routes no public route");
        assert!(
            SERVICES.contains(&rule.service.as_str()),
            "{origin}: unknown backend {}",
            rule.service
        );
    }
}

/// The Ingress objects' paths; backends are the services' `<name>-http` Services.
pub fn ingress_rules(objects: &[Value]) -> Vec<Rule> {
    let mut rules = Vec::new();
    for ingress in objects.iter().filter(|o| o["kind"] == "Ingress") {
        for host in ingress["spec"]["rules"].as_array().expect("rules") {
            for path in host["http"]["paths"].as_array().expect("paths") {
                let value = path["path"].as_str().expect("path").to_owned();
                let matcher = match path["pathType"].as_str() {
                    Some("Exact") => Matcher::Exact(value),
                    Some("Prefix") => Matcher::Segments(value),
                    other => panic!("Ingress pathType {other:?}: use Exact or Prefix, whose meaning is fixed"),
                };
                let backend = &path["backend"]["service"];
                assert_eq!(
                    backend["port"]["name"], "http",
                    "Ingress backends use the named http port"
                );
                rules.push(Rule {
                    matcher,
                    service: http_service_owner(backend["name"].as_str().expect("backend")),
                });
            }
        }
    }
    rules
}

/// The HTTPRoute objects' matches.
pub fn httproute_rules(objects: &[Value]) -> Vec<Rule> {
    let mut rules = Vec::new();
    for route in objects.iter().filter(|o| o["kind"] == "HTTPRoute") {
        for rule in route["spec"]["rules"].as_array().expect("rules") {
            let backends = rule["backendRefs"].as_array().expect("backendRefs");
            assert_eq!(backends.len(), 1, "one backend per rule");
            assert_eq!(backends[0]["port"], 80, "the http Service port");
            let service = http_service_owner(backends[0]["name"].as_str().expect("name"));
            for m in rule["matches"].as_array().expect("matches") {
                let value = m["path"]["value"].as_str().expect("path value").to_owned();
                let matcher = match m["path"]["type"].as_str() {
                    Some("Exact") => Matcher::Exact(value),
                    Some("PathPrefix") => Matcher::Segments(value),
                    other => panic!("HTTPRoute path type {other:?}"),
                };
                rules.push(Rule {
                    matcher,
                    service: service.clone(),
                });
            }
        }
    }
    rules
}

/// `acl NAME path|path_beg VALUE` and `use_backend SERVICE if NAME` of an HAProxy file.
pub fn haproxy_rules(config: &str) -> Vec<Rule> {
    let lines: Vec<Vec<&str>> = config
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|w| !w.is_empty() && !w[0].starts_with('#'))
        .collect();
    let backend_of = |acl: &str| {
        lines
            .iter()
            .find(|w| w.len() == 4 && w[0] == "use_backend" && w[2] == "if" && w[3] == acl)
            .map(|w| w[1].to_owned())
            .unwrap_or_else(|| panic!("no use_backend for acl {acl}"))
    };
    lines
        .iter()
        .filter(|w| w.first() == Some(&"acl"))
        .map(|w| {
            assert_eq!(w.len(), 4, "one path per acl line: {w:?}");
            let matcher = match w[2] {
                "path" => Matcher::Exact(w[3].to_owned()),
                "path_beg" => Matcher::Bytes(w[3].to_owned()),
                other => panic!("acl criterion {other}"),
            };
            Rule {
                matcher,
                service: backend_of(w[1]),
            }
        })
        .collect()
}

fn http_service_owner(name: &str) -> String {
    name.strip_suffix("-http")
        .unwrap_or_else(|| panic!("the ingress reaches `{name}`, not a `<service>-http` Service"))
        .to_owned()
}

#[test]
fn both_haproxy_configurations_route_like_the_ingress() {
    for file in ["deploy/local/haproxy.cfg.in", "deploy/compose/haproxy.cfg"] {
        let config = std::fs::read_to_string(repo().join(file)).expect("haproxy config");
        check_table(&haproxy_rules(&config), file);
    }
}

#[test]
fn prefix_matching_is_element_wise_where_kubernetes_says_so() {
    let segments = Matcher::Segments("/agent".into());
    assert!(segments.matches("/agent") && segments.matches("/agent/identity"));
    assert!(!segments.matches("/agentx"));
    assert!(Matcher::Bytes("/agent/".into()).matches("/agent/identity"));
}

/// The services take the right-most X-Forwarded-For entry (one trusted hop): HAProxy must
/// overwrite that header with the address it saw, never append to a client's, and drop
/// the other address headers a client could forge.
#[test]
fn both_haproxy_configurations_overwrite_the_client_address() {
    for file in ["deploy/local/haproxy.cfg.in", "deploy/compose/haproxy.cfg"] {
        let config = std::fs::read_to_string(repo().join(file)).expect("haproxy config");
        let directives: Vec<String> = config
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|l| !l.starts_with('#'))
            .collect();
        let has = |d: &str| directives.iter().any(|l| l.eq_ignore_ascii_case(d));
        assert!(
            has("http-request set-header X-Forwarded-For %[src]"),
            "{file}: overwrites X-Forwarded-For"
        );
        assert!(has("http-request del-header Forwarded"), "{file}: drops Forwarded");
        assert!(has("http-request del-header X-Real-IP"), "{file}: drops X-Real-IP");
        assert!(
            !directives.iter().any(|l| l.starts_with("option forwardfor")),
            "{file}: `option forwardfor` appends to the client's header"
        );
    }
    let replica = std::fs::read_to_string(repo().join("deploy/local/replica.sh")).expect("replica.sh");
    assert!(replica.contains("AGENTAUTH__CLIENT_ADDRESS__TRUSTED_PROXY_HOPS=1"));
    assert!(!replica.to_lowercase().contains("trust_forwarded_for"));
}
