use shared::settings::{ServiceSettings, Sources};
use token_service::settings::Settings;
use token_service::startup::Application;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    shared::telemetry::init("token-service");
    let settings = Settings::load(Sources::from_process())?;
    let app = Application::build(settings).await?;
    tracing::info!(http = %app.http_addr(), grpc = %app.grpc_addr(), "token-service listening");
    app.run_until(shared::shutdown::signal()).await
}
