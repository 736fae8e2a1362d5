//! A service's process, the same for each: settings from the process (defaults, the
//! `AGENTAUTH_CONFIG` file, `AGENTAUTH__…`), telemetry, one replica served until SIGTERM,
//! then drained.

use crate::settings::{ServiceSettings, Sources};

use super::{Application, Service};

/// Why a service process stopped with an error.
pub type MainError = Box<dyn std::error::Error + Send + Sync>;

/// Runs service `S` as this process.
pub async fn main<S: Service>() -> Result<(), MainError> {
    let settings = S::Settings::load(Sources::from_process())?;
    let telemetry_settings = S::common(&settings)
        .telemetry
        .clone()
        .with_standard_endpoint(std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok());
    let telemetry = crate::telemetry::init(S::NAME, &telemetry_settings, crate::telemetry::Output::Stdout);
    let app = Application::<S>::start(settings).await?;
    tracing::info!(
        http = %app.http_addr(),
        grpc = %app.grpc_addr(),
        metrics = ?app.metrics_addr(),
        "{} listening",
        S::NAME
    );
    let result = app.run_until(crate::shutdown::signal()).await;
    telemetry.shutdown().await;
    result
}
