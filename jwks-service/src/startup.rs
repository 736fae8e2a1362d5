//! Wiring: [`JwksService`] is everything a replica serves, mountable into any HTTP app and
//! gRPC server (the all-in-one runner mounts it beside the others); [`Application`] runs
//! it as a standalone replica.

use std::sync::Arc;

use actix_web::web;
use shared::health::{ReadinessCheck, StoreReady};
use shared::serve::{Mountable, Service, StartupError};
use shared::settings::{ListenSettings, ServiceSettings};
use shared::shutdown::Draining;
use tokio::task::JoinHandle;
use tonic::service::RoutesBuilder;

use crate::grpc::{KeyAdminGrpc, KeyServiceImpl};
use crate::http::{self, JwksState};
use crate::keys::KeyManager;
use crate::settings::{SERVICE_NAME, Settings};
use crate::store::{self, KeyStore};

#[derive(Debug)]
pub struct JwksService {
    grpc_tls: Option<Arc<shared::tls::TlsServerConfig>>,
    keys: Arc<KeyManager>,
    store: Arc<dyn KeyStore>,
    max_age_secs: u64,
    loader: JoinHandle<()>,
}

impl Drop for JwksService {
    fn drop(&mut self) {
        self.loader.abort();
    }
}

impl Service for JwksService {
    type Settings = Settings;

    fn listen(settings: &Settings) -> (&ListenSettings, &ListenSettings) {
        (&settings.http, &settings.grpc)
    }

    fn shutdown(settings: &Settings) -> shared::shutdown::ShutdownSettings {
        settings.shutdown
    }

    fn metrics(settings: &Settings) -> &ListenSettings {
        &settings.metrics.listen
    }

    /// Builds the service and starts loading (or generating) the signing key.
    async fn build(settings: &Settings) -> Result<Self, StartupError> {
        settings.validate()?;
        let tls = settings.internal_tls.load(SERVICE_NAME, settings.profile)?;
        let grpc_tls = settings.internal_tls.server_config(tls.as_ref())?;
        let algorithm = shared::jose::parse_algorithm(&settings.keys.algorithm)
            .map_err(|e| shared::settings::SettingsError::invalid("keys.algorithm", e.to_string()))?;
        let store = store::from_settings(&settings.store)?;
        let keks = settings.keks()?;
        if settings.keys.kek.resolve("keys.kek")?.is_none() {
            tracing::warn!(
                kek_id = keks.current.id(),
                "no keys.kek configured: ephemeral key-encryption key (development)"
            );
        }
        let keys = Arc::new(KeyManager::new(
            store.clone(),
            algorithm,
            keks,
            settings.keys.schedule(),
        ));
        let holder = format!("jwks-{}", shared::secrets::random_token(9));
        let lease_ttl = settings.keys.lease_ttl;
        // First pass inline, so a replica with a reachable store starts with its keys.
        if let Err(error) = keys.run_once(&holder, lease_ttl).await {
            tracing::warn!(%error, "signing keys not loaded at startup, retrying every tick");
        }
        let loader = tokio::spawn(keys.clone().run(holder, settings.keys.scheduler_tick, lease_ttl));
        Ok(Self {
            grpc_tls,
            keys,
            store,
            max_age_secs: settings.keys.jwks_max_age.as_secs(),
            loader,
        })
    }
}

impl Mountable for JwksService {
    fn configure(&self) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
        let state = JwksState {
            keys: self.keys.clone(),
            max_age_secs: self.max_age_secs,
        };
        move |cfg| http::configure(cfg, state.clone())
    }

    fn add_grpc(&self, routes: &mut RoutesBuilder, draining: &Draining) {
        routes.add_service(KeyServiceImpl::server(self.keys.clone(), draining.clone()));
        routes.add_service(KeyAdminGrpc::server(self.keys.clone()));
    }

    fn grpc_tls(&self) -> Option<Arc<shared::tls::TlsServerConfig>> {
        self.grpc_tls.clone()
    }

    fn readiness_checks(&self) -> Vec<Arc<dyn ReadinessCheck>> {
        vec![
            Arc::new(StoreReady(self.store.clone())),
            Arc::new(KeyLoaded(self.keys.clone())),
        ]
    }
}

#[derive(Debug)]
struct KeyLoaded(Arc<KeyManager>);

#[async_trait::async_trait]
impl ReadinessCheck for KeyLoaded {
    fn name(&self) -> &'static str {
        "signing_key"
    }
    async fn check(&self) -> Result<(), String> {
        self.0
            .current()
            .map(|_| ())
            .ok_or_else(|| "no signing key loaded".into())
    }
}

/// A standalone replica of this service.
pub type Application = shared::serve::Application<JwksService>;
