use std::net::SocketAddr;

use jwks_service::settings::Settings;
use jwks_service::startup::Application;
use shared::settings::{ListenSettings, Profile, StoreBackend, StoreSettings};
use tokio::sync::oneshot;

/// A running replica; stops when dropped.
pub struct TestApp {
    pub http: SocketAddr,
    pub grpc: SocketAddr,
    _stop: oneshot::Sender<()>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc)
    }
}

pub fn settings(store: StoreSettings) -> Settings {
    Settings {
        profile: Profile::Development,
        http: ListenSettings::new("127.0.0.1", 0),
        grpc: ListenSettings::new("127.0.0.1", 0),
        store,
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
    let (http, grpc) = (app.http_addr(), app.grpc_addr());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    TestApp {
        http,
        grpc,
        _stop: stop,
    }
}
