//! Observability of the real binaries: one exchange is one trace across token-service,
//! identity-service and Redis (collected by an OTLP collector in this process); a
//! Prometheus scrape after known traffic passes `promtool check metrics` and counts it;
//! every audit event appears once with its fields; and nothing a flow handles in
//! secret (tokens, assertion, client secret, code, claim and view tokens) appears in any
//! log line, audit line or span.

mod collector;
mod system;

use std::collections::HashMap;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use collector::{Collector, Span};
use serde_json::{Value, json};
use system::System;

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// A trace the "ingress" started: its id and the span the request came from.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const INGRESS_SPAN: &str = "00f067aa0ba902b7";

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

async fn register(system: &System) -> Value {
    let response = http()
        .post(system.identity.url("/agent/identity"))
        .json(&json!({ "type": "anonymous" }))
        .send()
        .await
        .expect("identity");
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

async fn exchange(system: &System, assertion: &str, traceparent: Option<&str>) -> (u16, Value) {
    let mut request = http()
        .post(system.token.url("/oauth2/token"))
        .form(&[("grant_type", JWT_BEARER), ("assertion", assertion)]);
    if let Some(traceparent) = traceparent {
        request = request
            .header("traceparent", traceparent)
            .header("tracestate", "ingress=1");
    }
    let response = request.send().await.expect("token");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn collected(collector: &Collector, until: impl Fn(&[Span]) -> bool) -> Vec<Span> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let spans = collector.spans();
        if until(&spans) || Instant::now() > deadline {
            return spans;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_exchange_is_one_trace_across_both_services_down_to_redis() {
    let (collector, addr) = Collector::start().await;
    let env = [
        ("AGENTAUTH__TELEMETRY__OTLP_ENDPOINT", format!("http://{addr}")),
        ("AGENTAUTH__TELEMETRY__SAMPLE_RATIO", "1.0".to_owned()),
    ];
    let mut system = tokio::task::block_in_place(|| System::start(&env));
    let registered = register(&system).await;
    let assertion = registered["identity_assertion"].as_str().expect("assertion").to_owned();
    let traceparent = format!("00-{TRACE_ID}-{INGRESS_SPAN}-01");
    let (status, body) = exchange(&system, &assertion, Some(&traceparent)).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().expect("token").to_owned();
    tokio::task::block_in_place(|| system.terminate_all());

    let spans = collected(&collector, |spans| {
        spans
            .iter()
            .any(|s| s.service == "identity-service" && s.attributes.contains_key("db.system.name"))
    })
    .await;
    let trace: Vec<&Span> = spans.iter().filter(|s| hex(&s.trace_id) == TRACE_ID).collect();
    for span in &trace {
        println!(
            "{} {} kind={} parent={} {:?}",
            span.service,
            span.name,
            span.kind,
            hex(&span.parent_span_id),
            span.attributes
        );
    }
    let one = |service: &str, kind: i32, name: &str| {
        let found: Vec<&&Span> = trace
            .iter()
            .filter(|s| s.service == service && s.kind == kind && s.name == name)
            .collect();
        assert_eq!(found.len(), 1, "one {service} span {name} (kind {kind}) in the trace");
        *found[0]
    };
    let http_span = one("token-service", 2, "POST /oauth2/token");
    assert_eq!(
        hex(&http_span.parent_span_id),
        INGRESS_SPAN,
        "the ingress's traceparent is honoured"
    );
    assert_eq!(http_span.attributes["http.request.method"], "POST");
    assert_eq!(http_span.attributes["http.route"], "/oauth2/token");
    assert_eq!(http_span.attributes["http.response.status_code"], "200");
    let method = "agentauth.identity.v1.IdentityService/LookupRegistration";
    let client = one("token-service", 3, method);
    assert_eq!(
        client.parent_span_id, http_span.span_id,
        "gRPC client span under the HTTP span"
    );
    assert_eq!(client.attributes["rpc.system"], "grpc");
    assert_eq!(client.attributes["rpc.method"], "LookupRegistration");
    let server = one("identity-service", 2, method);
    assert_eq!(
        server.parent_span_id, client.span_id,
        "identity's server span is the client span's child"
    );
    let redis: Vec<&&Span> = trace
        .iter()
        .filter(|s| s.service == "identity-service" && s.attributes.get("db.system.name").is_some_and(|v| v == "redis"))
        .collect();
    assert!(!redis.is_empty(), "a Redis span in the exchange's trace");
    for span in &redis {
        assert_eq!(
            span.parent_span_id, server.span_id,
            "Redis spans are children of identity's span"
        );
        assert_eq!(span.kind, 3);
        assert_eq!(span.attributes["db.system"], "redis");
        assert!(span.attributes.contains_key("db.operation.name"));
    }
    for service in ["token-service", "identity-service"] {
        let span = trace
            .iter()
            .find(|s| s.service == service)
            .expect("spans of both services");
        assert_eq!(span.resource["service.name"], service);
        assert_eq!(span.resource["service.version"], env!("CARGO_PKG_VERSION"));
        assert!(span.resource.get("service.instance.id").is_some_and(|i| !i.is_empty()));
    }
    let secrets = [
        assertion.as_str(),
        token.as_str(),
        registered["claim_token"].as_str().expect("claim"),
    ];
    assert_no_secret_in_spans(&spans, &secrets);
}

fn assert_no_secret_in_spans(spans: &[Span], secrets: &[&str]) {
    for span in spans {
        for (key, value) in span.attributes.iter().chain(span.resource.iter()) {
            for secret in secrets {
                assert!(
                    !value.contains(secret),
                    "span {} attribute {key} carries a secret",
                    span.name
                );
            }
        }
        for secret in secrets {
            assert!(!span.name.contains(secret), "span name {} carries a secret", span.name);
        }
    }
}

/// Prometheus text → (series with labels, value).
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

fn sample(samples: &HashMap<String, f64>, series: &str) -> f64 {
    *samples.get(series).unwrap_or_else(|| {
        panic!(
            "no {series} in the scrape: {:?}",
            samples
                .keys()
                .filter(|k| k.starts_with(series.split('{').next().unwrap_or_default()))
                .collect::<Vec<_>>()
        )
    })
}

fn promtool_check(scrape: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is installed (Debian prometheus)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(scrape.as_bytes())
        .expect("write");
    let output = child.wait_with_output().expect("promtool");
    assert!(
        output.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_after_known_traffic_passes_promtool_and_counts_it() {
    let system = tokio::task::block_in_place(|| System::start(&[]));
    for _ in 0..3 {
        let registered = register(&system).await;
        let (status, _) = exchange(&system, registered["identity_assertion"].as_str().expect("a"), None).await;
        assert_eq!(status, 200);
    }
    let (status, _) = exchange(&system, "not.an.assertion", None).await;
    assert_eq!(status, 400);
    let unsupported = http()
        .post(system.token.url("/oauth2/token"))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .expect("token");
    assert_eq!(unsupported.status(), 400);

    let mut scraped = HashMap::new();
    for process in system.processes() {
        let scrape = http()
            .get(process.metrics_url())
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        promtool_check(&scrape);
        println!(
            "{}: {} series, promtool check metrics passed",
            process.name,
            samples(&scrape).len()
        );
        scraped.insert(process.name, samples(&scrape));
    }
    let token = &scraped["token-service"];
    assert_eq!(
        sample(
            token,
            r#"agentauth_tokens_issued_total{grant="jwt-bearer",outcome="success"}"#
        ),
        3.0
    );
    assert_eq!(
        sample(
            token,
            r#"agentauth_tokens_issued_total{grant="jwt-bearer",outcome="invalid_grant"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(
            token,
            r#"agentauth_tokens_issued_total{grant="unsupported",outcome="unsupported_grant_type"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(
            token,
            r#"agentauth_http_request_duration_seconds_count{route="/oauth2/token",method="POST",status="200"}"#
        ),
        3.0
    );
    assert_eq!(
        sample(
            token,
            r#"agentauth_grpc_client_duration_seconds_count{method="agentauth.identity.v1.IdentityService/LookupRegistration",code="OK"}"#
        ),
        3.0,
        "one call per exchange; the forged assertion was refused here, with no call"
    );
    assert_eq!(
        sample(
            token,
            r#"agentauth_assertion_validations_total{outcome="invalid_assertion"}"#
        ),
        1.0
    );
    assert_eq!(sample(token, "agentauth_signer_ready"), 1.0);
    assert_eq!(sample(token, "agentauth_ready"), 1.0);
    let identity = &scraped["identity-service"];
    assert_eq!(
        sample(identity, r#"agentauth_assertion_validations_total{outcome="granted"}"#),
        3.0
    );
    assert_eq!(
        sample(
            identity,
            r#"agentauth_grpc_server_duration_seconds_count{method="agentauth.identity.v1.IdentityService/LookupRegistration",code="OK"}"#
        ),
        3.0
    );
    assert!(
        sample(
            identity,
            r#"agentauth_redis_command_duration_seconds_count{operation="GET"}"#
        ) >= 3.0
    );
    let jwks = &scraped["jwks-service"];
    assert_eq!(sample(jwks, "agentauth_signing_keys_published"), 1.0);
    assert!(sample(jwks, "agentauth_signing_key_active_retires_in_seconds") > 0.0);
    for (name, samples) in &scraped {
        let build = format!(
            r#"agentauth_build_info{{service="{name}",version="{}"}}"#,
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(sample(samples, &build), 1.0);
        for series in samples.keys() {
            assert!(
                !series.contains("reg_") && !series.contains("cli_") && !series.contains("127.0.0.1"),
                "unbounded label: {series}"
            );
        }
    }
}

/// The JSON lines of every process's output, and the audit lines among them.
fn lines(system: &System) -> (String, Vec<Value>) {
    let all = system.all_output();
    let audit = all
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["target"] == "audit")
        .collect();
    (all, audit)
}

mod flow;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_audit_event_appears_once_with_its_fields_and_no_secret_appears_anywhere() {
    let (collector, addr) = Collector::start().await;
    let provider = shared::testing::TestProvider::start().await;
    let env = [
        ("AGENTAUTH__TELEMETRY__OTLP_ENDPOINT", format!("http://{addr}")),
        ("AGENTAUTH__TELEMETRY__SAMPLE_RATIO", "1.0".to_owned()),
    ];
    let mut system = tokio::task::block_in_place(|| System::start_with_provider(&env, &provider));
    let secrets = flow::full(&system, &provider).await;
    tokio::task::block_in_place(|| system.terminate_all());
    let spans = collected(&collector, |spans| spans.len() > 20).await;
    let (all, audit) = lines(&system);

    for (event, subject) in &secrets.expected_events {
        let matching: Vec<&Value> = audit
            .iter()
            .filter(|l| l["event"] == *event && subject.as_ref().is_none_or(|s| l["subject"] == *s))
            .collect();
        assert_eq!(matching.len(), 1, "{event} {subject:?} once, got {matching:?}");
        let line = matching[0];
        for field in ["time", "event", "actor", "subject", "outcome", "ip", "trace_id"] {
            assert!(
                line[field].as_str().is_some_and(|v| !v.is_empty()),
                "{event}: {field} in {line}"
            );
        }
        println!(
            "audit {event}: actor {} subject {} outcome {} ip {}",
            line["actor"], line["subject"], line["outcome"], line["ip"]
        );
    }
    let request_lines: Vec<Value> = all
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["target"] == "audit" && l["ip"] != "-")
        .collect();
    assert!(!request_lines.is_empty());
    for line in &request_lines {
        assert!(
            line["trace_id"].as_str().is_some_and(|t| t.len() == 32),
            "inside a request: {line}"
        );
        assert!(
            line["span_id"].as_str().is_some_and(|t| t.len() == 16),
            "inside a request: {line}"
        );
    }
    let secret_values = secrets.values();
    println!(
        "checked {} bytes of output and {} spans for {} secrets",
        all.len(),
        spans.len(),
        secret_values.len()
    );
    for secret in &secret_values {
        assert!(
            !all.contains(secret.as_str()),
            "a secret in the output: {}…",
            &secret[..secret.len().min(12)]
        );
    }
    let refs: Vec<&str> = secret_values.iter().map(String::as_str).collect();
    assert_no_secret_in_spans(&spans, &refs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_lifecycle_is_audited_generated_activated_retired_and_rewrapped() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().expect("dir");
    let kek = |n: &str| {
        let path = dir.path().join(n);
        let bytes: Vec<u8> = (0..32).map(|_| rand_byte()).collect();
        std::fs::write(&path, base64::engine::general_purpose::STANDARD.encode(bytes)).expect("kek");
        path.display().to_string()
    };
    let (first, second) = (kek("kek-1"), kek("kek-2"));
    // A schedule scaled down: a key signs 3 s and is published 1 s after.
    let env = [
        ("AGENTAUTH__KEYS__KEK__FILE", first.clone()),
        ("AGENTAUTH__KEYS__ROTATION_PERIOD", "3s".to_owned()),
        ("AGENTAUTH__KEYS__PUBLISH_AHEAD", "1s".to_owned()),
        ("AGENTAUTH__KEYS__RETIRE_AFTER", "1s".to_owned()),
        ("AGENTAUTH__KEYS__JWKS_MAX_AGE", "1s".to_owned()),
        ("AGENTAUTH__KEYS__SCHEDULER_TICK", "100ms".to_owned()),
        ("AGENTAUTH__KEYS__LEASE_TTL", "1s".to_owned()),
    ];
    let mut system = tokio::task::block_in_place(|| System::start(&env));
    let audit = |system: &System, event: &str| -> Vec<Value> {
        lines(system).1.into_iter().filter(|l| l["event"] == event).collect()
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    while audit(&system, "key_retired").is_empty() {
        assert!(Instant::now() < deadline, "a key retires on the scaled schedule");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let retired = audit(&system, "key_retired");
    let generated = audit(&system, "key_generated");
    let activated = audit(&system, "key_activated");
    let genesis = &generated[0]["subject"];
    assert_eq!(retired.len(), 1, "{retired:?}");
    assert_eq!(&retired[0]["subject"], genesis, "the first key is the first retired");
    assert_eq!(activated.iter().filter(|l| &l["subject"] == genesis).count(), 1);
    assert!(
        generated.len() >= 2 && activated.len() >= 2,
        "its successor was generated and activated"
    );

    // A KEK rotation: the new KEK seals, the old one still opens, rewrap re-seals.
    let config = dir.path().join("jwks.toml");
    std::fs::write(&config, format!("[[keys.previous_keks]]\nfile = \"{first}\"\n")).expect("config");
    tokio::task::block_in_place(|| {
        system.restart_jwks(&[
            ("AGENTAUTH__KEYS__KEK__FILE", second.clone()),
            ("AGENTAUTH_CONFIG", config.display().to_string()),
        ]);
    });
    let tls = shared::tls::InternalTls::from_dir(&system.pki(), "agentctl", "test").expect("agentctl cert");
    let peer = shared::settings::PeerSettings {
        server_name: Some("jwks-service".into()),
        ..shared::settings::PeerSettings::new(&format!("https://127.0.0.1:{}", system.jwks.grpc))
    };
    let channel = shared::grpc::unary_channel(&peer, "test", Some(&tls)).expect("channel");
    let mut admin = proto::keys::v1::key_admin_client::KeyAdminClient::new(channel);
    let result = admin
        .rewrap(proto::keys::v1::RewrapRequest {})
        .await
        .expect("rewrap")
        .into_inner();
    assert!(result.rewrapped >= 1);
    // The log writer batches lines: wait (bounded) until it has written what the reply
    // counted, rather than read a half-written log under load.
    let deadline = Instant::now() + Duration::from_secs(10);
    while (audit(&system, "key_rewrapped").len() as u32) < result.rewrapped {
        assert!(Instant::now() < deadline, "every rewrap audited");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rewrapped = audit(&system, "key_rewrapped");
    let mut kids: Vec<&str> = rewrapped.iter().filter_map(|l| l["subject"].as_str()).collect();
    let before = kids.len();
    kids.sort_unstable();
    kids.dedup();
    assert_eq!(kids.len(), before, "each key re-sealed once");
    assert_eq!(rewrapped.len() as u32, result.rewrapped);
    let commands: Vec<Value> = audit(&system, "operator_command")
        .into_iter()
        .filter(|l| l["subject"] == "agentauth.keys.v1.KeyAdmin/Rewrap")
        .collect();
    assert_eq!(commands.len(), 1);
    for line in retired.iter().chain(&rewrapped).chain(&commands) {
        for field in ["time", "event", "actor", "subject", "outcome", "ip", "trace_id"] {
            assert!(line[field].as_str().is_some_and(|v| !v.is_empty()), "{field} in {line}");
        }
    }
    println!(
        "keys: {} generated, {} activated, {} retired, {} rewrapped",
        generated.len(),
        activated.len(),
        retired.len(),
        rewrapped.len()
    );
    tokio::task::block_in_place(|| system.terminate_all());
}

fn rand_byte() -> u8 {
    protocol::secrets::random_bytes(1)[0]
}

/// Every `agentauth_*` family a file names (histogram series reduced to their family).
fn metric_names(text: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("agentauth_") {
        let start = i + at;
        let mut end = start;
        while end < bytes.len()
            && (bytes[end].is_ascii_lowercase() || bytes[end] == b'_' || bytes[end].is_ascii_digit())
        {
            end += 1;
        }
        let name = &text[start..end];
        let family = ["_bucket", "_count", "_sum"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .unwrap_or(name);
        names.insert(family.to_owned());
        i = end;
    }
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_the_alerts_and_the_dashboard_use_is_one_the_services_export() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo")
        .to_owned();
    let mut used = metric_names(&std::fs::read_to_string(repo.join("deploy/prometheus/alerts.yml")).expect("alerts"));
    used.extend(metric_names(
        &std::fs::read_to_string(repo.join("k8s/components/monitoring/agentauth-dashboard.json")).expect("dashboard"),
    ));
    // A registration limit of one, so the second registration is refused.
    let env = [(
        "AGENTAUTH__RATE_LIMITS__ANONYMOUS_REGISTRATIONS_PER_IP__MAX",
        "1".to_owned(),
    )];
    let mut system = tokio::task::block_in_place(|| System::start(&env));
    let registered = register(&system).await;
    let again = http()
        .post(system.identity.url("/agent/identity"))
        .json(&json!({ "type": "anonymous" }))
        .send()
        .await
        .expect("identity");
    assert_eq!(again.status(), 429);
    let assertion = registered["identity_assertion"].as_str().expect("assertion");
    assert_eq!(exchange(&system, assertion, None).await.0, 200);
    // Redis down: the next exchange fails its registration read (a Redis error).
    tokio::task::block_in_place(|| system.kill_redis());
    assert_eq!(exchange(&system, assertion, None).await.0, 503);
    let mut exported = std::collections::BTreeSet::new();
    for process in system.processes() {
        let scrape = http()
            .get(process.metrics_url())
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        exported.extend(
            scrape
                .lines()
                .filter_map(|l| l.strip_prefix("# TYPE "))
                .filter_map(|l| l.split_whitespace().next())
                .map(str::to_owned),
        );
    }
    println!(
        "alerts and dashboard use {} metric families; the services export {}",
        used.len(),
        exported.len()
    );
    let missing: Vec<&String> = used.difference(&exported).collect();
    assert!(missing.is_empty(), "used but never exported: {missing:?}");
}
