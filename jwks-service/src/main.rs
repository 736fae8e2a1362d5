use jwks_service::settings::Settings;
use jwks_service::startup::Application;
use shared::settings::{ServiceSettings, Sources};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    shared::telemetry::init("jwks-service");
    let settings = Settings::load(Sources::from_process())?;
    let app = Application::build(settings).await?;
    tracing::info!(http = %app.http_addr(), grpc = %app.grpc_addr(), "jwks-service listening");
    app.run_until(shared::shutdown::signal()).await
}
