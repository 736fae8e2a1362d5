use jwks_service::settings::Settings;
use jwks_service::startup::Application;
use shared::settings::{ServiceSettings, Sources};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let settings = Settings::load(Sources::from_process())?;
    let telemetry_settings = settings
        .telemetry
        .clone()
        .with_standard_endpoint(std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok());
    let telemetry = shared::telemetry::init("jwks-service", &telemetry_settings, shared::telemetry::Output::Stdout);
    let app = Application::start(settings).await?;
    tracing::info!(http = %app.http_addr(), grpc = %app.grpc_addr(), metrics = ?app.metrics_addr(), "jwks-service listening");
    let result = app.run_until(shared::shutdown::signal()).await;
    telemetry.shutdown().await;
    result
}
