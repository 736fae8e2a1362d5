//! Wiring: [`TokenService`] is everything token-service serves, mountable beside the
//! other services; [`Application`] runs it as a standalone replica.

use std::sync::Arc;

use actix_web::web;
use shared::health::{ReadinessCheck, StoreReady};
use shared::jose::dpop::{DpopVerifier, Nonces};
use shared::jose::remote::{Destinations, RemoteKeys};
use shared::jose::watch::{self, KeyWatcher, SigningKeyReady};
use shared::secrets::SecretHasher;
use shared::serve::{Mountable, Service, StartupError};
use shared::settings::{ListenSettings, Profile, ServiceSettings};
use shared::shutdown::Draining;
use tonic::service::RoutesBuilder;

use crate::access_token::AccessTokens;
use crate::clients::InlineKeys;
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
        let endpoint = settings.token_endpoint.clone();
        let hasher = SecretHasher::new(&settings.hash_pepper.resolve_for("hash_pepper", settings.profile)?);
        let dpop = endpoint.dpop.enabled.then(|| {
            let nonces = endpoint
                .dpop
                .require_nonce
                .then(|| Nonces::new(hasher.clone(), endpoint.dpop.nonce_lifetime));
            DpopVerifier::new(endpoint.dpop_algorithms(), endpoint.dpop.proof_window, nonces)
        });
        let mut token_endpoint_urls = vec![settings.token_endpoint_url()];
        if let Some(base) = endpoint
            .mtls
            .endpoint_base_url
            .as_deref()
            .filter(|_| endpoint.mtls.trusted_header.is_some())
        {
            token_endpoint_urls.push(format!("{base}/oauth2/token"));
        }
        let resources: Vec<String> = settings
            .protected_resources
            .iter()
            .map(|r| r.resource.clone())
            .collect();
        let destinations = Destinations::Public {
            allow_loopback: settings.profile == Profile::Development,
        };
        let state = AppState {
            issuer: settings.public_base_url.clone(),
            access_tokens: AccessTokens::new(
                &settings.public_base_url,
                settings.audience(),
                &resources,
                token.ttl,
                token.leeway,
            ),
            identity,
            keys,
            clients: stores.clients,
            denylist: stores.denylist,
            replay: stores.replay,
            assertion_algs: endpoint.auth_algorithms(),
            dpop,
            token_endpoint_urls,
            client_keys: RemoteKeys::new(&settings.client_keys, destinations)?,
            inline_keys: InlineKeys::default(),
            resources: settings.protected_resources.clone(),
            leeway_secs: token.leeway.as_secs(),
            endpoint,
            hasher,
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
