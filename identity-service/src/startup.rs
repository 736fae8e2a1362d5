//! Wiring: [`IdentityService`] builds the domain services from settings and contributes
//! its [`Parts`] (the `/agent` and discovery routes, the `IdentityService` gRPC server,
//! readiness) the one way `shared::serve` assembles every service; [`Application`] runs
//! it as a standalone replica.

use std::sync::Arc;

use protocol::jose::dpop::DpopVerifier;
use protocol::oauth::TokenEndpointSettings;
use protocol::secrets::SecretHasher;
use shared::health::StoreReady;
use shared::keys::watch::{self, KeyRingWatch, SigningKeyReady};
use shared::serve::{CommonSettings, Context, Parts, Service, StartupError};
use shared::settings::{Profile, Validated};

use crate::assertion::Assertions;
use crate::authorize::store::{AuthorizationStore, SessionStore};
use crate::authorize::{AuthorizationParts, Authorizations, ClientDirectory};
use crate::claim::ClaimCeremony;
use crate::grpc::IdentityGrpc;
use crate::http::{ServerSessions, SessionCookie};
use crate::mail::{MailBackend, Mailer};
use crate::peers::delegations::DelegationRecords;
use crate::providers::{ProviderKeys, ProviderTrust};
use crate::ratelimit::RateLimits;
use crate::registration::{KeyBinding, RegistrationPolicy, RegistrationStores, Registrations};
use crate::settings::{SERVICE_NAME, Settings, scopes};
use crate::state::{AppState, Discovery};
use crate::store;
use crate::validation::Validation;

/// What the session cookie's key is derived under, from the hash pepper.
const SESSION_KEY_CONTEXT: &str = "session_cookie_key";

/// A built identity-service: what it serves is in its [`Parts`]; the handle tells the
/// all-in-one runner where mail goes and which keys the service signs with.
#[derive(Debug)]
pub struct IdentityService {
    outbox: Option<std::path::PathBuf>,
    keys: KeyRingWatch,
}

impl Service for IdentityService {
    type Settings = Settings;
    const NAME: &'static str = SERVICE_NAME;

    fn common(settings: &Settings) -> &CommonSettings {
        &settings.common
    }

    /// Builds the domain services and starts following jwks-service's key stream.
    async fn build(settings: &Validated<Settings>, context: &Context) -> Result<(Self, Parts), StartupError> {
        let stores = store::from_settings(&settings.common.store, &context.connections)?;
        let (keys, key_watcher) = watch::spawn(context.peer(&settings.jwks, "jwks", true)?);
        let hasher = SecretHasher::new(
            &settings
                .hash_pepper
                .resolve_for("hash_pepper", settings.common.profile)?,
        );
        let cookie = SessionCookie {
            key: actix_web::cookie::Key::derive_from(&hasher.tag(SESSION_KEY_CONTEXT, "")),
            store: ServerSessions::new(stores.sessions.clone(), hasher.clone()),
            secure: settings.common.profile != Profile::Development,
            ttl: settings.authorize.session_ttl,
        };
        let assertion = &settings.assertion;
        let assertions = Assertions::new(
            &settings.public_base_url,
            assertion.ttl,
            assertion.max_lifetime,
            assertion.leeway,
        );
        let registration_store = stores.registrations.clone();
        let validation = Arc::new(Validation::new(
            assertions.clone(),
            keys.clone(),
            registration_store.clone(),
        ));
        let state = app_state(settings, context, stores, assertions, (keys.clone(), hasher))?;
        let authorizations = state.authorizations.clone();
        let parts = Parts::new()
            .routes(move |cfg| crate::http::configure(cfg, state.clone(), &cookie))
            .grpc(move |routes, _| {
                routes.add_service(IdentityGrpc::server(validation, authorizations));
            })
            .ready(StoreReady(registration_store))
            .ready(SigningKeyReady(keys.clone()))
            .client_address(settings.client_address)
            .keep(key_watcher);
        let outbox = (settings.mail.backend == MailBackend::Outbox).then(|| settings.mail.outbox_dir.clone());
        Ok((Self { outbox, keys }, parts))
    }
}

/// The domain services, each with the stores and rules it names.
fn app_state(
    settings: &Settings,
    context: &Context,
    stores: store::Stores,
    assertions: Assertions,
    (keys, hasher): (KeyRingWatch, SecretHasher),
) -> Result<Arc<AppState>, StartupError> {
    let issuer = settings.public_base_url.as_str();
    let policy = policy(settings)?;
    let registrations = Arc::new(Registrations::new(
        RegistrationStores {
            registrations: stores.registrations.clone(),
            delegations: stores.delegations,
            users: stores.users,
        },
        policy.clone(),
        assertions,
        (keys, hasher.clone()),
    ));
    let limits = RateLimits::new(
        crate::ratelimit::from_settings(&settings.common.store, &context.connections, "identity")?,
        settings.rate_limits.clone(),
    );
    let mailer = crate::mail::from_settings(&settings.mail)?;
    let token_service = Arc::new(context.peer(&settings.token, "token", false)?);
    let directory = ClientDirectory::new(token_service.clone());
    let delegations = DelegationRecords::new(token_service);
    let stored = (&stores.authorizations, &stores.sessions);
    let authorizations = authorizations(settings, stored, (directory, delegations), (&hasher, &mailer, &limits))?;
    let assertion = &settings.assertion;
    Ok(Arc::new(AppState {
        issuer: issuer.to_owned(),
        claims: Arc::new(ClaimCeremony::new(
            registrations.clone(),
            (hasher, mailer),
            limits.clone(),
            settings.claim.clone(),
            issuer,
        )),
        registrations,
        trust: Arc::new(ProviderTrust::new(
            ProviderKeys::new(&settings.providers, &settings.provider_keys)?,
            stores.replay.clone(),
            issuer,
            (assertion.leeway, assertion.max_lifetime),
        )),
        binding: KeyBinding::new(
            dpop_verifier(&settings.token_endpoint),
            stores.replay,
            policy.require_dpop,
            format!("{issuer}/agent/identity"),
        ),
        limits,
        discovery: discovery(settings, scopes("scopes_supported", &settings.scopes_supported)?),
        authorizations,
    }))
}

/// What discovery publishes beside the services' own rules.
fn discovery(settings: &Settings, scopes_supported: protocol::scope::ScopeSet) -> Discovery {
    Discovery {
        scopes_supported,
        protected_resources: settings.protected_resources.clone(),
        token_endpoint: settings.token_endpoint.clone(),
        client_id_metadata_documents: settings.authorize.client_id_metadata_documents,
    }
}

/// The authorization endpoint, asking token-service who a client is.
fn authorizations(
    settings: &Settings,
    (store, sessions): (&Arc<dyn AuthorizationStore>, &Arc<dyn SessionStore>),
    (directory, delegations): (ClientDirectory, DelegationRecords),
    (hasher, mailer, limits): (&SecretHasher, &Arc<dyn Mailer>, &RateLimits),
) -> Result<Arc<Authorizations>, StartupError> {
    Ok(Arc::new(Authorizations::new(
        AuthorizationParts {
            store: store.clone(),
            sessions: sessions.clone(),
            directory,
            delegations,
            hasher: hasher.clone(),
            mailer: mailer.clone(),
            limits: limits.clone(),
            issuer: settings.public_base_url.clone(),
            scopes_supported: scopes("scopes_supported", &settings.scopes_supported)?,
            resources: settings
                .protected_resources
                .iter()
                .map(|r| r.resource.clone())
                .collect(),
            resource_names: settings
                .protected_resources
                .iter()
                .filter_map(|r| Some((r.resource.clone(), r.resource_name.clone()?)))
                .collect(),
            upstream: Arc::new(crate::upstream::UpstreamProviders::new(
                &settings.humans,
                &settings.public_base_url,
                &settings.provider_keys,
                settings.assertion.leeway.as_secs(),
            )?),
        },
        settings.authorize.clone(),
    )))
}

fn policy(settings: &Settings) -> Result<RegistrationPolicy, shared::settings::SettingsError> {
    let registration = &settings.registration;
    Ok(RegistrationPolicy {
        anonymous_enabled: registration.anonymous_enabled,
        verified_email_enabled: registration.verified_email_enabled,
        id_jag_enabled: registration.id_jag_enabled && !settings.providers.is_empty(),
        claim_window: registration.claim_window,
        retention_after_expiry: registration.retention_after_expiry,
        pre_claim_scopes: scopes("registration.pre_claim_scopes", &registration.pre_claim_scopes)?,
        post_claim_scopes: scopes("registration.post_claim_scopes", &registration.post_claim_scopes)?,
        require_dpop: registration.require_dpop,
    })
}

/// Registration proofs: the token endpoint's algorithms and window. Server nonces are
/// the token endpoint's own (RFC 9449 §8 lets each server decide), so none here.
fn dpop_verifier(endpoint: &TokenEndpointSettings) -> Option<DpopVerifier> {
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
    pub fn key_ring(&self) -> KeyRingWatch {
        self.keys.clone()
    }
}

/// A standalone replica of this service.
pub type Application = shared::serve::Application<IdentityService>;
