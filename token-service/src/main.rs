#[tokio::main]
async fn main() -> Result<(), shared::serve::MainError> {
    shared::serve::main::<token_service::startup::TokenService>().await
}
