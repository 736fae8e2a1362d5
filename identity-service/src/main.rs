#[tokio::main]
async fn main() -> Result<(), shared::serve::MainError> {
    shared::serve::main::<identity_service::startup::IdentityService>().await
}
