//! `/healthz` (liveness: the process answers, no dependency checked) and `/readyz`
//! (readiness: this replica holds what it needs to serve, and is not draining).
//!
//! A dependency every replica shares (Redis) is reported, not gated on: when it is down
//! every replica is down alike, and taking them all out of rotation would only swap our
//! precise `503 temporarily_unavailable` + `Retry-After` (and the JWKS we still serve
//! from memory) for the ingress's own error page.

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::shutdown::Draining;

/// One dependency a replica needs before it may take traffic.
#[async_trait::async_trait]
pub trait ReadinessCheck: Send + Sync {
    /// Short stable name reported by `/readyz` (never the failure's details).
    fn name(&self) -> &'static str;
    async fn check(&self) -> Result<(), String>;
    /// Whether a failure makes the replica unready (`false`: reported as degraded).
    fn gates_readiness(&self) -> bool {
        true
    }
}

/// Ready while the service's store answers.
pub struct StoreReady(pub Arc<dyn crate::store::Reachable>);

impl std::fmt::Debug for StoreReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreReady")
    }
}

#[async_trait::async_trait]
impl ReadinessCheck for StoreReady {
    fn name(&self) -> &'static str {
        "store"
    }

    async fn check(&self) -> Result<(), String> {
        self.0.ping().await.map_err(|e| e.to_string())
    }

    fn gates_readiness(&self) -> bool {
        false
    }
}

#[derive(Clone, Default)]
pub struct HealthProbe {
    draining: Draining,
    checks: Vec<Arc<dyn ReadinessCheck>>,
}

impl std::fmt::Debug for HealthProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.checks.iter().map(|c| c.name()).collect();
        f.debug_struct("HealthProbe").field("checks", &names).finish()
    }
}

impl HealthProbe {
    pub fn new(draining: Draining) -> Self {
        Self {
            draining,
            checks: Vec::new(),
        }
    }

    pub fn with_checks(mut self, checks: impl IntoIterator<Item = Arc<dyn ReadinessCheck>>) -> Self {
        self.checks.extend(checks);
        self
    }

    /// Names of the failing checks that make the replica unready (empty when ready),
    /// and of those that only degrade it.
    pub async fn failing(&self) -> (Vec<&'static str>, Vec<&'static str>) {
        let (mut failing, mut degraded) = (Vec::new(), Vec::new());
        if self.draining.is_draining() {
            failing.push("draining");
        }
        for check in &self.checks {
            if let Err(cause) = check.check().await {
                tracing::warn!(check = check.name(), %cause, "readiness check failed");
                match check.gates_readiness() {
                    true => failing.push(check.name()),
                    false => degraded.push(check.name()),
                }
            }
        }
        (failing, degraded)
    }
}

impl HealthProbe {
    /// `agentauth_ready` and one `agentauth_readiness_check_ok{check}` per check, as of now.
    pub async fn record_metrics(&self) {
        use crate::telemetry::metrics::{READINESS_CHECK, READY, SIGNER_READY};
        let mut ready = !self.draining.is_draining();
        for check in &self.checks {
            let ok = check.check().await.is_ok();
            metrics::gauge!(READINESS_CHECK, "check" => check.name()).set(if ok { 1.0 } else { 0.0 });
            if check.name() == "signing_key" {
                metrics::gauge!(SIGNER_READY).set(if ok { 1.0 } else { 0.0 });
            }
            ready &= ok || !check.gates_readiness();
        }
        metrics::gauge!(READY).set(if ready { 1.0 } else { 0.0 });
    }
}

pub fn configure(cfg: &mut web::ServiceConfig, probe: HealthProbe) {
    cfg.app_data(web::Data::new(probe))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz));
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

async fn readyz(probe: web::Data<HealthProbe>) -> HttpResponse {
    let (failing, degraded) = probe.failing().await;
    let mut body = match failing.is_empty() {
        true => json!({ "status": "ready" }),
        false => json!({ "status": "not_ready", "failing": failing }),
    };
    if !degraded.is_empty() {
        body["degraded"] = json!(degraded);
    }
    match failing.is_empty() {
        true => HttpResponse::Ok().json(body),
        false => HttpResponse::ServiceUnavailable().json(body),
    }
}
