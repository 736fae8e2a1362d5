//! Shutdown trigger, the drain schedule, and the phase latch that drains a replica.
//!
//! On SIGTERM a replica goes [`Phase::Draining`]: `/readyz` answers 503 at once while it
//! keeps serving for `drain_delay`, the time load balancers and Kubernetes endpoints
//! take to stop sending it traffic. Then [`Phase::Stopping`]: it stops accepting, ends
//! long-lived streams (their clients reconnect to another replica) and finishes what is
//! in flight within `grace`.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// The drain schedule, a setting of every service (`shutdown.drain_delay`,
/// `shutdown.grace`). `terminationGracePeriodSeconds` must exceed their sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShutdownSettings {
    /// How long a replica keeps serving, unready, after the signal.
    #[serde(with = "humantime_serde")]
    pub drain_delay: Duration,
    /// How long in-flight requests may take once it stops accepting.
    #[serde(with = "humantime_serde")]
    pub grace: Duration,
}

impl Default for ShutdownSettings {
    fn default() -> Self {
        Self {
            drain_delay: Duration::from_secs(5),
            grace: Duration::from_secs(20),
        }
    }
}

impl ShutdownSettings {
    /// No drain delay: a process nothing balances traffic to (the all-in-one runner).
    pub fn immediate() -> Self {
        Self {
            drain_delay: Duration::ZERO,
            ..Self::default()
        }
    }

    /// A zero grace would cut in-flight requests; an hour-long drain is a typo.
    pub fn validate(&self) -> Result<(), crate::settings::SettingsError> {
        if self.grace.is_zero() || self.grace > Duration::from_secs(600) {
            return Err(crate::settings::SettingsError::invalid(
                "shutdown.grace",
                "must be between 1ms and 10m",
            ));
        }
        if self.drain_delay > Duration::from_secs(300) {
            return Err(crate::settings::SettingsError::invalid(
                "shutdown.drain_delay",
                "must be at most 5m",
            ));
        }
        Ok(())
    }

    /// The whole of a shutdown at most: what the orchestrator must wait before SIGKILL.
    pub fn total(&self) -> Duration {
        self.drain_delay + self.grace
    }
}

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

/// Where a replica is in its life; it only moves forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Serving,
    /// Unready, still serving everything.
    Draining,
    /// No longer accepting; long-lived streams end.
    Stopping,
}

/// The replica's phase, shared by the servers, `/readyz` and long-lived streams.
#[derive(Debug, Clone)]
pub struct Draining(Arc<watch::Sender<Phase>>);

impl Default for Draining {
    fn default() -> Self {
        Self(Arc::new(watch::channel(Phase::Serving).0))
    }
}

impl Draining {
    /// Readiness goes 503; nothing else changes yet.
    pub fn start(&self) {
        self.advance(Phase::Draining);
    }

    /// The servers stop accepting; streams end.
    pub fn stop(&self) {
        self.advance(Phase::Stopping);
    }

    fn advance(&self, to: Phase) {
        self.0.send_if_modified(|phase| {
            let moved = *phase < to;
            if moved {
                *phase = to;
            }
            moved
        });
    }

    pub fn is_draining(&self) -> bool {
        *self.0.borrow() >= Phase::Draining
    }

    /// Resolves once the replica stops accepting.
    pub async fn stopping(&self) {
        let mut phase = self.0.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = phase.wait_for(|phase| *phase >= Phase::Stopping).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn phases_only_move_forward() {
        let draining = Draining::default();
        assert!(!draining.is_draining());
        draining.start();
        assert!(draining.is_draining());
        let stopped = tokio::spawn({
            let draining = draining.clone();
            async move { draining.stopping().await }
        });
        draining.stop();
        draining.start();
        stopped.await.expect("stopping resolves");
        assert_eq!(*draining.0.borrow(), Phase::Stopping);
    }
}
