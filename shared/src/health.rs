//! `/healthz` (liveness: the process answers, no dependency checked) and `/readyz`
//! (readiness: every dependency this replica needs, and not draining).

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

    /// Names of the failing checks; empty when ready.
    pub async fn failing(&self) -> Vec<&'static str> {
        let mut failing = Vec::new();
        if self.draining.is_draining() {
            failing.push("draining");
        }
        for check in &self.checks {
            if let Err(cause) = check.check().await {
                tracing::warn!(check = check.name(), %cause, "readiness check failed");
                failing.push(check.name());
            }
        }
        failing
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
    let failing = probe.failing().await;
    if failing.is_empty() {
        HttpResponse::Ok().json(json!({ "status": "ready" }))
    } else {
        HttpResponse::ServiceUnavailable().json(json!({ "status": "not_ready", "failing": failing }))
    }
}
