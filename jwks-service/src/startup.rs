//! Wiring: [`JwksService`] contributes its [`Parts`] (the JWKS route, the key stream and
//! admin gRPC services, readiness) the one way `shared::serve` assembles every service;
//! [`Application`] runs it as a standalone replica.

use std::sync::Arc;

use shared::health::{ReadinessCheck, StoreReady};
use shared::serve::{CommonSettings, Context, Parts, Service, StartupError};
use shared::settings::Validated;
use tokio::task::JoinHandle;

use crate::grpc::{KeyAdminGrpc, KeyServiceImpl};
use crate::http::{self, JwksState};
use crate::keys::KeyManager;
use crate::settings::{SERVICE_NAME, Settings};
use crate::store;

/// A built jwks-service: what it serves is in its [`Parts`]; this handle only stops the
/// key loader when dropped.
#[derive(Debug)]
pub struct JwksService {
    loader: JoinHandle<()>,
}

impl Drop for JwksService {
    fn drop(&mut self) {
        self.loader.abort();
    }
}

impl Service for JwksService {
    type Settings = Settings;
    const NAME: &'static str = SERVICE_NAME;

    fn common(settings: &Settings) -> &CommonSettings {
        &settings.common
    }

    /// Builds the service and starts loading (or generating) the signing key.
    async fn build(settings: &Validated<Settings>, context: &Context) -> Result<(Self, Parts), StartupError> {
        let algorithm = protocol::jose::parse_algorithm(&settings.keys.algorithm)
            .map_err(|e| shared::settings::SettingsError::invalid("keys.algorithm", e.to_string()))?;
        let store = store::from_settings(&settings.common.store, &context.connections)?;
        let keks = settings.keks()?;
        if !settings.keys.kek.is_configured() {
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
        let holder = format!("jwks-{}", protocol::secrets::random_token(9));
        let lease_ttl = settings.keys.lease_ttl;
        // First pass inline, so a replica with a reachable store starts with its keys.
        if let Err(error) = keys.run_once(&holder, lease_ttl).await {
            tracing::warn!(%error, "signing keys not loaded at startup, retrying every tick");
        }
        let loader = tokio::spawn(keys.clone().run(holder, settings.keys.scheduler_tick, lease_ttl));
        let state = JwksState {
            keys: keys.clone(),
            max_age_secs: settings.keys.jwks_max_age.as_secs(),
        };
        let grpc_keys = keys.clone();
        let parts = Parts::new()
            .routes(move |cfg| http::configure(cfg, state.clone()))
            .grpc(move |routes, draining| {
                routes.add_service(KeyServiceImpl::server(grpc_keys.clone(), draining.clone()));
                routes.add_service(KeyAdminGrpc::server(grpc_keys));
            })
            .ready(StoreReady(store))
            .ready(KeyLoaded(keys));
        Ok((Self { loader }, parts))
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
