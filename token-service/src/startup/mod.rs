//! Wiring: [`TokenService`] contributes its [`Parts`] (the `/oauth2` routes, the client
//! admin gRPC service, readiness) the one way `shared::serve` assembles every service;
//! [`Application`] runs it as a standalone replica. `services` builds each domain
//! service from settings, with the dependencies it names.

mod grants;
mod services;

use shared::health::StoreReady;
use shared::keys::watch::{self, KeyRingWatch, SigningKeyReady};
use shared::serve::{CommonSettings, Context, Parts, Service, StartupError};
use shared::settings::Validated;

use crate::peers::identity::IdentityClient;
use crate::settings::{SERVICE_NAME, Settings};
use crate::store;

/// A built token-service: what it serves is in its [`Parts`]; the handle shows the keys
/// it signs with.
#[derive(Debug)]
pub struct TokenService {
    keys: KeyRingWatch,
}

impl Service for TokenService {
    type Settings = Settings;
    const NAME: &'static str = SERVICE_NAME;

    fn common(settings: &Settings) -> &CommonSettings {
        &settings.common
    }

    /// Builds the service and starts following jwks-service's key stream.
    async fn build(settings: &Validated<Settings>, context: &Context) -> Result<(Self, Parts), StartupError> {
        let stores = store::from_settings(&settings.common.store, &context.connections)?;
        let (keys, key_watcher) = watch::spawn(context.peer(&settings.jwks, "jwks", true)?);
        let identity = IdentityClient::new(context.peer(&settings.identity, "identity", false)?);
        let built = services::build(settings, context, &stores, keys.clone(), identity)?;
        let (endpoints, admin, directory, delegations) =
            (built.endpoints, built.admin, built.directory, built.delegations);
        let parts = Parts::new()
            .routes(move |cfg| crate::http::configure(cfg, endpoints.clone()))
            .grpc(move |routes, _| {
                routes.add_service(admin.server());
                routes.add_service(directory.server());
                routes.add_service(delegations.server());
            })
            .ready(StoreReady(stores.denylist))
            .ready(SigningKeyReady(keys.clone()))
            .client_address(settings.client_address)
            .keep(key_watcher);
        Ok((Self { keys }, parts))
    }
}

impl TokenService {
    /// The keys this replica signs and verifies with, as jwks-service last sent them.
    pub fn key_ring(&self) -> KeyRingWatch {
        self.keys.clone()
    }
}

/// A standalone replica of this service.
pub type Application = shared::serve::Application<TokenService>;
