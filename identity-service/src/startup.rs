//! Wiring: [`IdentityService`] is everything identity-service serves, mountable beside
//! the other services; [`Application`] is a standalone replica with its own listeners.

use std::sync::Arc;

use actix_web::web;
use shared::health::{ReadinessCheck, StoreReady};
use shared::jose::dpop::DpopVerifier;
use shared::jose::watch::{self, KeyWatcher, SigningKeyReady};
use shared::secrets::SecretHasher;
use shared::serve::{Mountable, Service, StartupError};
use shared::settings::{ListenSettings, ServiceSettings};
use shared::shutdown::Draining;
use tonic::service::RoutesBuilder;

use crate::assertion::Assertions;
use crate::grpc::IdentityGrpc;
use crate::mail::MailBackend;
use crate::providers::ProviderKeys;
use crate::registration::RegistrationPolicy;
use crate::settings::{SERVICE_NAME, Settings, scopes};
use crate::state::AppState;
use crate::store;

#[derive(Debug)]
pub struct IdentityService {
    grpc_tls: Option<Arc<shared::tls::TlsServerConfig>>,
    state: Arc<AppState>,
    outbox: Option<std::path::PathBuf>,
    _key_watcher: KeyWatcher,
}

impl Service for IdentityService {
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
        let registration = &settings.registration;
        let state = AppState {
            issuer: settings.public_base_url.clone(),
            scopes_supported: scopes("scopes_supported", &settings.scopes_supported)?,
            policy: RegistrationPolicy {
                anonymous_enabled: registration.anonymous_enabled,
                verified_email_enabled: registration.verified_email_enabled,
                id_jag_enabled: registration.id_jag_enabled && !settings.providers.is_empty(),
                claim_window: registration.claim_window,
                retention_after_expiry: registration.retention_after_expiry,
                pre_claim_scopes: scopes("registration.pre_claim_scopes", &registration.pre_claim_scopes)?,
                post_claim_scopes: scopes("registration.post_claim_scopes", &registration.post_claim_scopes)?,
                require_dpop: registration.require_dpop,
            },
            assertions: Assertions::new(
                &settings.public_base_url,
                settings.assertion.ttl,
                settings.assertion.max_lifetime,
                settings.assertion.leeway,
            ),
            store: stores.registrations,
            delegations: stores.delegations,
            users: stores.users,
            replay: stores.replay,
            keys,
            hasher: SecretHasher::new(&settings.hash_pepper.resolve_for("hash_pepper", settings.profile)?),
            claim: settings.claim.clone(),
            mailer: crate::mail::from_settings(&settings.mail)?,
            limiter: crate::ratelimit::from_settings(&settings.store)?,
            limits: settings.rate_limits.clone(),
            providers: ProviderKeys::new(&settings.providers, &settings.provider_keys)?,
            protected_resources: settings.protected_resources.clone(),
            token_endpoint: settings.token_endpoint.clone(),
            dpop: dpop_verifier(&settings.token_endpoint),
        };
        let outbox = (settings.mail.backend == MailBackend::Outbox).then(|| settings.mail.outbox_dir.clone());
        Ok(Self {
            grpc_tls,
            state: Arc::new(state),
            outbox,
            _key_watcher: key_watcher,
        })
    }
}

/// Registration proofs: the token endpoint's algorithms and window. Server nonces are
/// the token endpoint's own (RFC 9449 §8 lets each server decide), so none here.
fn dpop_verifier(endpoint: &shared::oauth::TokenEndpointSettings) -> Option<DpopVerifier> {
    endpoint
        .dpop
        .enabled
        .then(|| DpopVerifier::new(endpoint.dpop_algorithms(), endpoint.dpop.proof_window, None))
}

impl IdentityService {
    /// Where the development mail outbox writes, if that is the configured transport.
    pub fn outbox_dir(&self) -> Option<&std::path::Path> {
        self.outbox.as_deref()
    }

    /// The keys this replica signs and verifies with, as jwks-service last sent them.
    pub fn key_ring(&self) -> shared::jose::watch::KeyRingWatch {
        self.state.keys.clone()
    }
}

impl Mountable for IdentityService {
    fn configure(&self) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
        let state = self.state.clone();
        move |cfg| crate::http::configure(cfg, state.clone())
    }

    fn add_grpc(&self, routes: &mut RoutesBuilder, _draining: &Draining) {
        routes.add_service(IdentityGrpc::server(self.state.clone()));
    }

    fn grpc_tls(&self) -> Option<Arc<shared::tls::TlsServerConfig>> {
        self.grpc_tls.clone()
    }

    fn client_address(&self) -> shared::telemetry::http::ClientAddress {
        shared::telemetry::http::ClientAddress {
            trust_forwarded_for: self.state.limits.trust_forwarded_for,
        }
    }

    fn readiness_checks(&self) -> Vec<Arc<dyn ReadinessCheck>> {
        vec![
            Arc::new(StoreReady(self.state.store.clone())),
            Arc::new(SigningKeyReady(self.state.keys.clone())),
        ]
    }
}

/// A standalone replica of this service.
pub type Application = shared::serve::Application<IdentityService>;
