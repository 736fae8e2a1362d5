//! The grants and what they share, built with the dependencies each names.

use std::sync::Arc;

use protocol::jose::assertion::AssertionRules;
use protocol::jose::dpop::{DpopVerifier, Nonces};
use protocol::oauth::TokenEndpointSettings;
use protocol::secrets::SecretHasher;
use shared::keys::remote::RemoteKeys;
use shared::keys::watch::KeyRingWatch;

use crate::access_token::{AccessTokens, TokenMinter};
use crate::client_auth::workload::WorkloadIssuers;
use crate::client_auth::{ClientAuthenticator, ClientSecrets, InlineKeys, MutualTls, PrivateKeyJwt};
use crate::delegations::Delegations;
use crate::grants::id_jag::IdJagGrant;
use crate::grants::id_jag::providers::EnterpriseProviders;
use crate::grants::{
    AuthorizationCodeGrant, ClientCredentialsGrant, DpopProofs, Grants, JwtBearerGrant, RefreshTokenGrant, Resources,
    TokenExchangeGrant,
};
use crate::introspection::Introspection;
use crate::liveness::Liveness;
use crate::peers::identity::IdentityClient;
use crate::refresh::RefreshTokens;
use crate::registration::metadata_document::MetadataDocuments;
use crate::revocation::Revocation;
use crate::settings::Settings;
use crate::store::Stores;

/// What more than one grant (and introspection, revocation) uses.
pub(super) struct GrantDeps {
    enterprise: Arc<EnterpriseProviders>,
    authenticator: Arc<ClientAuthenticator>,
    pub(super) proofs: Arc<DpopProofs>,
    identity: Arc<IdentityClient>,
    resources: Arc<Resources>,
    minter: Arc<TokenMinter>,
    refresh: Arc<RefreshTokens>,
    liveness: Arc<Liveness>,
    pub(super) delegations: Arc<Delegations>,
}

impl GrantDeps {
    pub(super) fn introspection(&self) -> Introspection {
        Introspection {
            authenticator: self.authenticator.clone(),
            minter: self.minter.clone(),
            liveness: self.liveness.clone(),
        }
    }

    pub(super) fn revocation(&self, stores: &Stores) -> Revocation {
        Revocation {
            authenticator: self.authenticator.clone(),
            refresh: self.refresh.clone(),
            minter: self.minter.clone(),
            denylist: stores.denylist.clone(),
        }
    }

    pub(super) fn new(
        settings: &Settings,
        stores: &Stores,
        keys: KeyRingWatch,
        identity: IdentityClient,
        hasher: &SecretHasher,
        trusted: &Trusted,
    ) -> Self {
        let authenticator = ClientAuthenticator {
            clients: stores.clients.clone(),
            endpoint: settings.token_endpoint.clone(),
            secrets: ClientSecrets { hasher: hasher.clone() },
            private_key_jwt: private_key_jwt(settings, trusted.fetched_keys.clone(), stores),
            mutual_tls: MutualTls,
            documents: trusted.documents.clone(),
            workloads: trusted.workloads.clone(),
        };
        let proofs = DpopProofs {
            verifier: dpop_verifier(&settings.token_endpoint, hasher),
            replay: stores.replay.clone(),
            token_endpoint_urls: token_endpoint_urls(settings),
        };
        let refresh = RefreshTokens::new(stores.refresh.clone(), hasher.clone(), settings.refresh_tokens.clone());
        let identity = Arc::new(identity);
        let liveness = Arc::new(Liveness {
            denylist: stores.denylist.clone(),
            identity: identity.clone(),
            clients: stores.clients.clone(),
        });
        Self {
            enterprise: trusted.enterprise.clone(),
            authenticator: Arc::new(authenticator),
            proofs: Arc::new(proofs),
            identity,
            resources: Arc::new(Resources {
                resources: settings.protected_resources.clone(),
            }),
            minter: Arc::new(TokenMinter {
                tokens: access_tokens(settings),
                keys,
            }),
            refresh: Arc::new(refresh),
            delegations: Arc::new(Delegations {
                log: stores.delegations.clone(),
                denylist: stores.denylist.clone(),
                liveness: liveness.clone(),
            }),
            liveness,
        }
    }
}

pub(super) fn grants(settings: &Settings, keys: KeyRingWatch, deps: &GrantDeps, stores: &Stores) -> Grants {
    Grants {
        jwt_bearer: JwtBearerGrant {
            assertions: assertion_rules(settings),
            keys: keys.clone(),
            authenticator: deps.authenticator.clone(),
            proofs: deps.proofs.clone(),
            identity: deps.identity.clone(),
            resources: deps.resources.clone(),
            minter: deps.minter.clone(),
        },
        client_credentials: ClientCredentialsGrant {
            authenticator: deps.authenticator.clone(),
            proofs: deps.proofs.clone(),
            resources: deps.resources.clone(),
            minter: deps.minter.clone(),
        },
        authorization_code: AuthorizationCodeGrant {
            authenticator: deps.authenticator.clone(),
            proofs: deps.proofs.clone(),
            identity: deps.identity.clone(),
            resources: deps.resources.clone(),
            minter: deps.minter.clone(),
            refresh: deps.refresh.clone(),
        },
        id_jag: IdJagGrant {
            providers: deps.enterprise.clone(),
            authenticator: deps.authenticator.clone(),
            proofs: deps.proofs.clone(),
            identity: deps.identity.clone(),
            resources: deps.resources.clone(),
            minter: deps.minter.clone(),
            refresh: deps.refresh.clone(),
        },
        refresh_token: RefreshTokenGrant {
            authenticator: deps.authenticator.clone(),
            proofs: deps.proofs.clone(),
            identity: deps.identity.clone(),
            resources: deps.resources.clone(),
            minter: deps.minter.clone(),
            refresh: deps.refresh.clone(),
        },
        token_exchange: token_exchange(settings, keys.clone(), deps, stores),
    }
}

/// RFC 8693 delegation: what it checks tokens and assertions with, and its bounds.
fn token_exchange(settings: &Settings, keys: KeyRingWatch, deps: &GrantDeps, stores: &Stores) -> TokenExchangeGrant {
    TokenExchangeGrant {
        authenticator: deps.authenticator.clone(),
        proofs: deps.proofs.clone(),
        resources: deps.resources.clone(),
        minter: deps.minter.clone(),
        liveness: deps.liveness.clone(),
        log: deps.delegations.clone(),
        clients: stores.clients.clone(),
        identity: deps.identity.clone(),
        assertions: assertion_rules(settings),
        keys,
        limits: settings.delegation.clone(),
    }
}

/// Our identity assertions, as token-service verifies them itself.
fn assertion_rules(settings: &Settings) -> AssertionRules {
    AssertionRules::new(
        &settings.public_base_url,
        settings.assertion.max_lifetime,
        settings.assertion.leeway,
    )
}

fn access_tokens(settings: &Settings) -> AccessTokens {
    let token = &settings.access_token;
    let resources: Vec<String> = settings
        .protected_resources
        .iter()
        .map(|r| r.resource.clone())
        .collect();
    AccessTokens::new(
        &settings.public_base_url,
        settings.audience(),
        &resources,
        token.ttl,
        token.leeway,
    )
}

/// `private_key_jwt`: assertions name the token endpoint or the issuer.
fn private_key_jwt(settings: &Settings, fetched_keys: Arc<RemoteKeys>, stores: &Stores) -> PrivateKeyJwt {
    let endpoint = &settings.token_endpoint;
    let mut audiences = token_endpoint_urls(settings);
    audiences.push(settings.public_base_url.clone());
    PrivateKeyJwt {
        algs: endpoint.auth_algorithms(),
        audiences,
        leeway_secs: settings.access_token.leeway.as_secs(),
        max_lifetime_secs: endpoint.client_assertion_max_lifetime.as_secs(),
        fetched_keys,
        inline_keys: InlineKeys::default(),
        replay: stores.replay.clone(),
    }
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
pub(super) fn token_endpoint_urls(settings: &Settings) -> Vec<String> {
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

/// What client authentication fetches from elsewhere: clients' `jwks_uri` sets, client
/// ID metadata documents, and the trusted workload issuers' keys.
#[derive(Debug)]
pub(super) struct Trusted {
    pub fetched_keys: Arc<RemoteKeys>,
    pub documents: Arc<MetadataDocuments>,
    pub workloads: Arc<WorkloadIssuers>,
    /// The enterprise identity providers whose ID-JAGs are grants.
    pub enterprise: Arc<EnterpriseProviders>,
}
