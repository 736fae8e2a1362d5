//! Structured JSON logs through `tracing`; `RUST_LOG` filters (default `info`).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber, logging to stdout (services); later calls are no-ops.
pub fn init(service: &'static str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let installed = tracing_subscriber::fmt()
        .json()
        .with_current_span(false)
        .with_env_filter(filter)
        .try_init()
        .is_ok();
    announce(installed, service);
}

/// Like [`init`], but logs go to stderr so a CLI's own output stays on stdout.
pub fn init_stderr(service: &'static str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let installed = tracing_subscriber::fmt()
        .json()
        .with_current_span(false)
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init()
        .is_ok();
    announce(installed, service);
}

fn announce(installed: bool, service: &'static str) {
    if installed {
        tracing::info!(service, version = env!("CARGO_PKG_VERSION"), "telemetry ready");
    }
}
