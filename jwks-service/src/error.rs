use shared::settings::SettingsError;
use shared::store::StoreError;

/// Why a jwks-service replica could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bind(#[from] shared::serve::BindError),
}
