#[tokio::main]
async fn main() -> Result<(), shared::serve::MainError> {
    shared::serve::main::<jwks_service::startup::JwksService>().await
}
