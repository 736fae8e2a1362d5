use identity_service::settings::Settings;
use identity_service::startup::Application;
use shared::settings::{ServiceSettings, Sources};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    shared::telemetry::init("identity-service");
    let settings = Settings::load(Sources::from_process())?;
    let app = Application::build(settings).await?;
    tracing::info!(http = %app.http_addr(), grpc = %app.grpc_addr(), "identity-service listening");
    app.run_until(shared::shutdown::signal()).await
}
