//! Wiring: [`TokenService`] contributes its [`Parts`] (the `/oauth2` routes, the client
//! admin gRPC service, readiness) the one way `shared::serve` assembles every service;
//! [`Application`] runs it as a standalone replica.

use std::sync::Arc;

use shared::health::StoreReady;
use shared::jose::dpop::{DpopVerifier, Nonces};
use shared::jose::remote::{Destinations, RemoteKeys};
use shared::jose::watch::{self, KeyRingWatch, SigningKeyReady};
use shared::oauth::TokenEndpointSettings;
use shared::secrets::SecretHasher;
use shared::serve::{Common, Context, Parts, Service, StartupError};
use shared::settings::{Profile, Validated};

use crate::access_token::AccessTokens;
use crate::clients::InlineKeys;
use crate::clients::metadata_document::MetadataDocuments;
use crate::clients::registration::RegistrationRules;
use crate::grpc::ClientAdminGrpc;
use crate::grpc::directory::ClientDirectoryGrpc;
use crate::identity::IdentityClient;
use crate::refresh::RefreshTokens;
use crate::settings::{SERVICE_NAME, Settings};
use crate::state::AppState;
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

    fn common(settings: &Settings) -> Common<'_> {
        Common {
            profile: settings.profile,
            http: &settings.http,
            grpc: &settings.grpc,
            metrics: &settings.metrics.listen,
            shutdown: settings.shutdown,
            internal_tls: &settings.internal_tls,
        }
    }

    /// Builds the service and starts following jwks-service's key stream.
    async fn build(settings: &Validated<Settings>, context: &Context) -> Result<(Self, Parts), StartupError> {
        let stores = store::from_settings(&settings.store, &context.connections)?;
        let (keys, key_watcher) = watch::spawn(context.peer(&settings.jwks, "jwks", true)?);
        let identity = IdentityClient::new(context.peer(&settings.identity, "identity", false)?);
        let hasher = SecretHasher::new(&settings.hash_pepper.resolve_for("hash_pepper", settings.profile)?);
        let destinations = Destinations::Public {
            allow_loopback: settings.profile == Profile::Development,
        };
        let endpoint = settings.token_endpoint.clone();
        let token = &settings.access_token;
        let resources: Vec<String> = settings
            .protected_resources
            .iter()
            .map(|r| r.resource.clone())
            .collect();
        let state = Arc::new(AppState {
            issuer: settings.public_base_url.clone(),
            access_tokens: AccessTokens::new(
                &settings.public_base_url,
                settings.audience(),
                &resources,
                token.ttl,
                token.leeway,
            ),
            identity,
            assertions: shared::jose::assertion::AssertionRules::new(
                &settings.public_base_url,
                settings.assertion.max_lifetime,
                settings.assertion.leeway,
            ),
            keys: keys.clone(),
            clients: stores.clients,
            denylist: stores.denylist.clone(),
            replay: stores.replay,
            assertion_algs: endpoint.auth_algorithms(),
            dpop: dpop_verifier(&endpoint, &hasher),
            token_endpoint_urls: token_endpoint_urls(settings),
            client_keys: RemoteKeys::new(&settings.client_keys, destinations)?,
            inline_keys: InlineKeys::default(),
            resources: settings.protected_resources.clone(),
            leeway_secs: token.leeway.as_secs(),
            client_registration: registration_rules(settings, &hasher, context)?,
            documents: MetadataDocuments::new(
                &settings.clients.metadata_documents,
                scopes(&settings.client_registration.scopes)?,
                destinations,
            )?,
            refresh: RefreshTokens::new(stores.refresh, hasher.clone(), settings.refresh_tokens.clone()),
            endpoint,
            hasher,
        });
        let grpc_state = state.clone();
        let parts = Parts::new()
            .routes(move |cfg| crate::http::configure(cfg, state.clone()))
            .grpc(move |routes, _| {
                routes.add_service(ClientAdminGrpc::server(grpc_state.clone()));
                routes.add_service(ClientDirectoryGrpc::server(grpc_state));
            })
            .ready(StoreReady(stores.denylist))
            .ready(SigningKeyReady(keys.clone()))
            .client_address(settings.client_address)
            .keep(key_watcher);
        Ok((Self { keys }, parts))
    }
}

/// The RFC 7591 policy, with the initial access token kept only as a keyed hash.
fn registration_rules(
    settings: &Settings,
    hasher: &SecretHasher,
    context: &Context,
) -> Result<RegistrationRules, StartupError> {
    let registration = &settings.client_registration;
    let key = "client_registration.initial_access_token";
    let token = registration.initial_access_token.resolve(key)?;
    let token = token
        .map(|secret| String::from_utf8(secret.expose().to_vec()))
        .transpose()
        .map_err(|_| shared::settings::SettingsError::invalid(key, "must be UTF-8 text"))?;
    Ok(RegistrationRules {
        policy: registration.policy,
        scopes: scopes(&registration.scopes)?,
        initial_access_token_hash: token
            .map(|t| hasher.hash(crate::http::register::INITIAL_ACCESS_TOKEN_CONTEXT, t.trim())),
        per_ip: registration.per_ip,
        limiter: shared::ratelimit::from_settings(&settings.store, &context.connections, "token")?,
    })
}

fn scopes(list: &[String]) -> Result<shared::scope::ScopeSet, shared::settings::SettingsError> {
    shared::scope::ScopeSet::from_tokens(list)
        .map_err(|e| shared::settings::SettingsError::invalid("client_registration.scopes", e.to_string()))
}

/// DPoP proofs at the token endpoint, with server nonces when the operator asks for them.
fn dpop_verifier(endpoint: &TokenEndpointSettings, hasher: &SecretHasher) -> Option<DpopVerifier> {
    endpoint.dpop.enabled.then(|| {
        let nonces = endpoint
            .dpop
            .require_nonce
            .then(|| Nonces::new(hasher.clone(), endpoint.dpop.nonce_lifetime));
        DpopVerifier::new(endpoint.dpop_algorithms(), endpoint.dpop.proof_window, nonces)
    })
}

/// The URLs a client assertion or DPoP proof may name for the token endpoint: the public
/// one, and the mTLS alias (RFC 8705 §5) when client certificates reach us.
fn token_endpoint_urls(settings: &Settings) -> Vec<String> {
    let mtls = &settings.token_endpoint.mtls;
    let mut urls = vec![settings.token_endpoint_url()];
    if let Some(base) = mtls
        .endpoint_base_url
        .as_deref()
        .filter(|_| mtls.trusted_header.is_some())
    {
        urls.push(format!("{base}/oauth2/token"));
    }
    urls
}

impl TokenService {
    /// The keys this replica signs and verifies with, as jwks-service last sent them.
    pub fn key_ring(&self) -> KeyRingWatch {
        self.keys.clone()
    }
}

/// A standalone replica of this service.
pub type Application = shared::serve::Application<TokenService>;
