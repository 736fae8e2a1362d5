//! Shutdown trigger and the readiness latch that drains a replica before it stops.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// How long in-flight requests may take to finish after a shutdown signal.
pub const GRACE_PERIOD: Duration = Duration::from_secs(20);

/// Resolves on SIGTERM (Kubernetes) or Ctrl-C (a developer's terminal).
pub async fn signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for sigterm");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("ctrl-c received, shutting down"),
        () = term => tracing::info!("sigterm received, shutting down"),
    }
}

/// Set once shutdown starts: `/readyz` answers 503 so load balancers stop sending traffic
/// while in-flight requests finish, and long-lived streams end so the drain can finish.
#[derive(Debug, Clone)]
pub struct Draining(Arc<watch::Sender<bool>>);

impl Default for Draining {
    fn default() -> Self {
        Self(Arc::new(watch::channel(false).0))
    }
}

impl Draining {
    pub fn start(&self) {
        self.0.send_replace(true);
    }

    pub fn is_draining(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once draining has started.
    pub async fn started(&self) {
        let mut draining = self.0.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = draining.wait_for(|draining| *draining).await;
    }
}
