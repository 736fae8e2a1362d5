use jwks_service::settings::Settings;
use jwks_service::startup::Application;
use shared::settings::{ListenSettings, Profile, StoreBackend, StoreSettings};

/// A running replica; stops when dropped.
pub type TestApp = shared::testing::Running;

pub fn settings(store: StoreSettings) -> Settings {
    Settings {
        common: shared::serve::CommonSettings {
            profile: Profile::Development,
            http: ListenSettings::new("127.0.0.1", 0),
            grpc: ListenSettings::new("127.0.0.1", 0),
            metrics: shared::telemetry::metrics::MetricsSettings::ephemeral(),
            store,
            internal_tls: shared::testing::pki().settings(&["identity-service", "token-service", "agentctl"]),
            ..Settings::default().common
        },
        ..Settings::default()
    }
}

pub fn memory() -> StoreSettings {
    StoreSettings {
        backend: StoreBackend::Memory,
        ..StoreSettings::default()
    }
}

pub async fn spawn(settings: Settings) -> TestApp {
    let app = Application::build(settings).await.expect("jwks-service builds");
    shared::testing::Running::start(app)
}
