//! Wiring: [`TokenService`] is everything token-service serves, mountable beside the
//! other services; [`Application`] runs it as a standalone replica.

use std::sync::Arc;

use actix_web::web;
use shared::health::{ReadinessCheck, StoreReady};
use shared::jose::watch::{self, KeyWatcher, SigningKeyReady};
use shared::secrets::SecretHasher;
use shared::serve::{Mountable, Service, StartupError};
use shared::settings::{ListenSettings, ServiceSettings};
use shared::shutdown::Draining;
use tonic::service::RoutesBuilder;

use crate::access_token::AccessTokens;
use crate::grpc::ClientAdminGrpc;
use crate::identity::IdentityClient;
use crate::settings::{SERVICE_NAME, Settings};
use crate::state::AppState;
use crate::store;

#[derive(Debug)]
pub struct TokenService {
    grpc_tls: Option<Arc<shared::tls::TlsServerConfig>>,
    state: Arc<AppState>,
    _key_watcher: KeyWatcher,
}

impl Service for TokenService {
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

    /// Builds the service and starts following jwks-service's key stream.
    async fn build(settings: &Settings) -> Result<Self, StartupError> {
        settings.validate()?;
        let tls = settings.internal_tls.load(SERVICE_NAME, settings.profile)?;
        let grpc_tls = settings.internal_tls.server_config(tls.as_ref())?;
        let stores = store::from_settings(&settings.store)?;
        let (keys, key_watcher) = watch::spawn(shared::grpc::replicas(&settings.jwks, "jwks", tls.as_ref(), true)?);
        let identity = IdentityClient::new(shared::grpc::replicas(
            &settings.identity,
            "identity",
            tls.as_ref(),
            false,
        )?);
        let token = &settings.access_token;
        let state = AppState {
            access_tokens: AccessTokens::new(&settings.public_base_url, settings.audience(), token.ttl, token.leeway),
            identity,
            keys,
            clients: stores.clients,
            denylist: stores.denylist,
            hasher: SecretHasher::new(&settings.hash_pepper.resolve_for("hash_pepper", settings.profile)?),
        };
        Ok(Self {
            grpc_tls,
            state: Arc::new(state),
            _key_watcher: key_watcher,
        })
    }
}

impl TokenService {
    /// The keys this replica signs and verifies with, as jwks-service last sent them.
    pub fn key_ring(&self) -> shared::jose::watch::KeyRingWatch {
        self.state.keys.clone()
    }
}

impl Mountable for TokenService {
    fn configure(&self) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
        let state = self.state.clone();
        move |cfg| crate::http::configure(cfg, state.clone())
    }

    fn add_grpc(&self, routes: &mut RoutesBuilder, _draining: &Draining) {
        routes.add_service(ClientAdminGrpc::server(self.state.clone()));
    }

    fn grpc_tls(&self) -> Option<Arc<shared::tls::TlsServerConfig>> {
        self.grpc_tls.clone()
    }

    fn readiness_checks(&self) -> Vec<Arc<dyn ReadinessCheck>> {
        vec![
            Arc::new(StoreReady(self.state.denylist.clone())),
            Arc::new(SigningKeyReady(self.state.keys.clone())),
        ]
    }
}

/// A standalone replica of this service.
pub type Application = shared::serve::Application<TokenService>;
