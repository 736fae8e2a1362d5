//! Prometheus metrics: the `metrics` facade, one recorder per process, rendered at
//! `/metrics` on a listener of its own (`metrics.listen`), never through the ingress.
//! Every name the services record is a constant here, so alerts, dashboards and tests
//! name the same series; no label carries an unbounded value (no id, no address).

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::{Deserialize, Serialize};

use crate::settings::ListenSettings;

/// HTTP request duration by `route` (the template), `method` and `status`.
pub const HTTP_REQUEST_DURATION: &str = "agentauth_http_request_duration_seconds";
/// Token endpoint answers by `grant` and `outcome` (`success` or the OAuth error code).
pub const TOKENS_ISSUED: &str = "agentauth_tokens_issued_total";
/// Identity assertions validated for token-service, by `outcome` (`granted` or the
/// refusal reason).
pub const ASSERTION_VALIDATIONS: &str = "agentauth_assertion_validations_total";
/// gRPC calls made, by `method` and `code`.
pub const GRPC_CLIENT_DURATION: &str = "agentauth_grpc_client_duration_seconds";
/// gRPC calls served, by `method` and `code`.
pub const GRPC_SERVER_DURATION: &str = "agentauth_grpc_server_duration_seconds";
/// Redis commands by `operation` (the command name).
pub const REDIS_COMMAND_DURATION: &str = "agentauth_redis_command_duration_seconds";
pub const REDIS_ERRORS: &str = "agentauth_redis_errors_total";
/// Requests refused by a rate limit, by `limit`.
pub const RATE_LIMIT_REJECTIONS: &str = "agentauth_rate_limit_rejections_total";
/// Seconds since the active signing key took over (jwks-service).
pub const SIGNING_KEY_AGE: &str = "agentauth_signing_key_active_age_seconds";
/// Seconds until the active signing key retires (jwks-service).
pub const SIGNING_KEY_RETIRES_IN: &str = "agentauth_signing_key_active_retires_in_seconds";
/// Seconds until the next rotation is due: the active key's slot ends (jwks-service).
pub const SIGNING_KEY_ROTATES_IN: &str = "agentauth_signing_key_rotation_due_in_seconds";
/// 1 when the next key is already published (jwks-service).
pub const SIGNING_KEY_NEXT_PUBLISHED: &str = "agentauth_signing_key_next_published";
/// Keys in the published JWKS (jwks-service).
pub const SIGNING_KEYS_PUBLISHED: &str = "agentauth_signing_keys_published";
/// 1 while this replica's signer holds a current key (identity-service, token-service).
pub const SIGNER_READY: &str = "agentauth_signer_ready";
/// 1 while `/readyz` would answer 200; and per check, whether it passes.
pub const READY: &str = "agentauth_ready";
pub const READINESS_CHECK: &str = "agentauth_readiness_check_ok";
/// When this replica's internal certificate (`certificate="service"`) and the internal CA
/// (`certificate="ca"`) expire, in Unix seconds: read once at start.
pub const INTERNAL_CERTIFICATE_EXPIRY: &str = "agentauth_internal_certificate_expires_at_seconds";
/// 1, labelled with `service` and `version`.
pub const BUILD_INFO: &str = "agentauth_build_info";

/// Latency buckets, in seconds: the exchange lives around a millisecond.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// `metrics.listen`: where `/metrics` is served.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricsSettings {
    pub listen: ListenSettings,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            listen: ListenSettings::new("0.0.0.0", 9090),
        }
    }
}

impl MetricsSettings {
    /// Loopback on a free port: tests.
    pub fn ephemeral() -> Self {
        Self {
            listen: ListenSettings::new("127.0.0.1", 0),
        }
    }
}

/// The process's recorder, installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&BUCKETS)
            .map(PrometheusBuilder::build_recorder)
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows only ours");
        }
        describe();
        let upkeep = handle.clone();
        // Drains histogram samples so memory stays bounded between scrapes.
        let _ = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_secs(5));
                    upkeep.run_upkeep();
                }
            });
        handle
    })
}

/// The HELP line of every series (Prometheus and `promtool check metrics` want one).
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_histogram!(
        HTTP_REQUEST_DURATION,
        Unit::Seconds,
        "HTTP request duration by route template, method and status"
    );
    describe_counter!(
        TOKENS_ISSUED,
        "Token endpoint answers by grant and outcome (success or the OAuth error code)"
    );
    describe_counter!(
        ASSERTION_VALIDATIONS,
        "Identity assertions validated for token-service, by outcome"
    );
    describe_histogram!(
        GRPC_CLIENT_DURATION,
        Unit::Seconds,
        "Internal gRPC calls made, by method and status code"
    );
    describe_histogram!(
        GRPC_SERVER_DURATION,
        Unit::Seconds,
        "Internal gRPC calls served, by method and status code"
    );
    describe_histogram!(REDIS_COMMAND_DURATION, Unit::Seconds, "Redis commands by operation");
    describe_counter!(REDIS_ERRORS, "Redis commands that failed, by operation");
    describe_counter!(RATE_LIMIT_REJECTIONS, "Requests refused by a rate limit, by limit");
    describe_gauge!(
        SIGNING_KEY_AGE,
        Unit::Seconds,
        "Seconds since the active signing key took over"
    );
    describe_gauge!(
        SIGNING_KEY_RETIRES_IN,
        Unit::Seconds,
        "Seconds until the active signing key retires"
    );
    describe_gauge!(
        SIGNING_KEY_ROTATES_IN,
        Unit::Seconds,
        "Seconds until the active key's rotation is due"
    );
    describe_gauge!(
        SIGNING_KEY_NEXT_PUBLISHED,
        "1 when the next signing key is already published"
    );
    describe_gauge!(SIGNING_KEYS_PUBLISHED, "Keys in the published JWKS");
    describe_gauge!(SIGNER_READY, "1 while this replica holds a current signing key");
    describe_gauge!(READY, "1 while /readyz answers 200");
    describe_gauge!(READINESS_CHECK, "Whether each readiness check passes");
    describe_gauge!(BUILD_INFO, "Build information: service and version");
    describe_gauge!(
        INTERNAL_CERTIFICATE_EXPIRY,
        Unit::Seconds,
        "When the internal mTLS certificate (service) and its CA (ca) expire, as Unix time"
    );
}

/// `agentauth_build_info{service, version} 1`.
pub fn describe_build(service: &'static str) {
    handle();
    metrics::gauge!(BUILD_INFO, "service" => service, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
}

/// The Prometheus text exposition of everything recorded so far.
pub fn render() -> String {
    let handle = handle();
    handle.run_upkeep();
    handle.render()
}
