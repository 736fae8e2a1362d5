//! Each domain service, built from settings with the dependencies it names.

use std::sync::Arc;

use protocol::secrets::SecretHasher;
use shared::keys::remote::{Destinations, RemoteKeys};
use shared::keys::watch::KeyRingWatch;
use shared::serve::{Context, StartupError};
use shared::settings::Profile;

use crate::grpc::ClientAdminGrpc;
use crate::grpc::delegations::DelegationsGrpc;
use crate::grpc::directory::ClientDirectoryGrpc;
use crate::http::{ClientHeaders, Endpoints};
use crate::peers::identity::IdentityClient;
use crate::registration::metadata_document::MetadataDocuments;
use crate::registration::{ClientRegistrar, RegistrationRules};
use crate::settings::Settings;
use crate::store::Stores;

use super::grants::{GrantDeps, Trusted, grants, token_endpoint_urls};
use crate::client_auth::workload::WorkloadIssuers;
use crate::grants::id_jag::providers::EnterpriseProviders;

/// What the service serves: the HTTP endpoints and the three gRPC servers.
pub(super) struct Built {
    pub endpoints: Endpoints,
    pub admin: ClientAdminGrpc,
    pub directory: ClientDirectoryGrpc,
    pub delegations: DelegationsGrpc,
}

pub(super) fn build(
    settings: &Settings,
    context: &Context,
    stores: &Stores,
    keys: KeyRingWatch,
    identity: IdentityClient,
) -> Result<Built, StartupError> {
    let hasher = SecretHasher::new(
        &settings
            .hash_pepper
            .resolve_for("hash_pepper", settings.common.profile)?,
    );
    let destinations = Destinations::Public {
        allow_loopback: settings.common.profile == Profile::Development,
    };
    let fetched_keys = Arc::new(RemoteKeys::new(&settings.client_keys, destinations)?);
    let documents = Arc::new(MetadataDocuments::new(
        &settings.clients.metadata_documents,
        scopes(&settings.client_registration.scopes)?,
        destinations,
    )?);
    let workloads = workload_issuers(settings, stores)?;
    let trusted = Trusted {
        fetched_keys: fetched_keys.clone(),
        documents: documents.clone(),
        enterprise: enterprise_providers(settings, stores, &workloads)?,
        workloads: workloads.clone(),
    };
    let deps = GrantDeps::new(settings, stores, keys.clone(), identity, &hasher, &trusted);
    let endpoints = Endpoints {
        grants: Arc::new(grants(settings, keys, &deps, stores)),
        proofs: deps.proofs.clone(),
        introspection: Arc::new(deps.introspection()),
        revocation: Arc::new(deps.revocation(stores)),
        registrar: Arc::new(registrar(settings, context, stores, &hasher, fetched_keys)?),
        headers: Arc::new(ClientHeaders {
            mtls: settings.token_endpoint.mtls.clone(),
        }),
    };
    let delegations = DelegationsGrpc {
        delegations: deps.delegations.clone(),
    };
    let directory = ClientDirectoryGrpc {
        clients: stores.clients.clone(),
        documents,
    };
    let admin = ClientAdminGrpc {
        clients: stores.clients.clone(),
        hasher,
        destinations,
        workloads,
    };
    Ok(Built {
        endpoints,
        admin,
        directory,
        delegations,
    })
}

/// The trusted workload issuers; a workload token's `aud` names us as a client
/// assertion's does (the issuer, or the token endpoint).
fn workload_issuers(settings: &Settings, stores: &Stores) -> Result<Arc<WorkloadIssuers>, StartupError> {
    let mut ours = token_endpoint_urls(settings);
    ours.push(settings.public_base_url.clone());
    Ok(Arc::new(WorkloadIssuers::new(
        &settings.workload_identity,
        &ours,
        settings.access_token.leeway.as_secs(),
        stores.replay.clone(),
    )?))
}

/// `token_endpoint.id_jag.issuers`: never one of the workload issuers too, since a token
/// of that `iss` would be read as a workload's.
fn enterprise_providers(
    settings: &Settings,
    stores: &Stores,
    workloads: &WorkloadIssuers,
) -> Result<Arc<EnterpriseProviders>, StartupError> {
    let id_jag = &settings.token_endpoint.id_jag;
    if let Some(i) = id_jag.issuers.iter().position(|p| workloads.get(&p.issuer).is_some()) {
        return Err(shared::settings::SettingsError::invalid(
            format!("token_endpoint.id_jag.issuers[{i}].issuer"),
            "is also a workload issuer; one issuer is one or the other",
        )
        .into());
    }
    Ok(Arc::new(EnterpriseProviders::new(
        id_jag,
        &settings.client_keys,
        &settings.public_base_url,
        settings.access_token.leeway.as_secs(),
        stores.replay.clone(),
    )?))
}

fn registrar(
    settings: &Settings,
    context: &Context,
    stores: &Stores,
    hasher: &SecretHasher,
    fetched_keys: Arc<RemoteKeys>,
) -> Result<ClientRegistrar, StartupError> {
    Ok(ClientRegistrar {
        rules: registration_rules(settings, hasher, context)?,
        clients: stores.clients.clone(),
        hasher: hasher.clone(),
        endpoint: settings.token_endpoint.clone(),
        fetched_keys,
    })
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
            .map(|t| hasher.hash(crate::registration::INITIAL_ACCESS_TOKEN_CONTEXT, t.trim())),
        per_ip: registration.per_ip,
        limiter: shared::ratelimit::from_settings(&settings.common.store, &context.connections, "token")?,
    })
}

fn scopes(list: &[String]) -> Result<protocol::scope::ScopeSet, shared::settings::SettingsError> {
    protocol::scope::ScopeSet::from_tokens(list)
        .map_err(|e| shared::settings::SettingsError::invalid("client_registration.scopes", e.to_string()))
}
