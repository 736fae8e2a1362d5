//! The authorization endpoint (RFC 6749 §4.1, as OAuth 2.1 and the MCP authorization
//! specification shape it): a client sends a human here, the human signs in by email
//! and a one-time code, consents, and the client gets back a code it redeems at
//! token-service, which asks us (`RedeemAuthorizationCode`) what the code grants.
//!
//! - `request`: the authorization request, checked against the client in two stages,
//!   because errors may go back to the redirect URI only once it is known good.
//! - who a client is: asked of token-service, which owns every client
//!   (`crate::peers::token_service`).
//! - `login`: sign-in by email and a one-time code, and the human an identity
//!   provider's sign-in (`crate::upstream`) names.
//! - `consent`: grants, a human's consent to a client, remembered per human and client.
//! - `enterprise`: grants an enterprise identity provider gives by ID-JAG.
//! - `code`: authorization codes, stored hashed, spent once; a replay revokes the grant.
//! - `record`: what the store keeps; [`store`]: the traits of where it is kept.

mod code;
mod consent;
mod delegations;
mod enterprise;
pub mod error;
mod login;
pub mod record;
mod request;
mod sessions;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use protocol::scope::ScopeSet;
use protocol::secrets::SecretHasher;
use serde::{Deserialize, Serialize};
use shared::ratelimit::Limit;
use shared::settings::SettingsError;

use self::store::{AuthorizationStore, SessionStore};
use crate::mail::Mailer;
use crate::ratelimit::RateLimits;
use crate::upstream::UpstreamProviders;

pub use crate::peers::delegations::{DelegationRecords, DelegationView};
pub use crate::peers::token_service::ClientDirectory;
pub use code::{Presented, Redeemed, Redemption};
pub use enterprise::{ProviderGrant, ProviderGrantRequest};
pub use error::{AuthorizeError, ErrorRedirect};
pub use login::{SignInPurpose, SignedIn};
pub use request::{AuthorizationRequest, Prompt};
pub use sessions::SessionView;

/// The endpoint's rules an operator configures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizeSettings {
    /// How long an authorization code works; OAuth 2.1 §4.1.2 asks for a short one, and
    /// we refuse more than 60 s.
    #[serde(with = "humantime_serde")]
    pub code_ttl: Duration,
    /// How long a mailed sign-in code works.
    #[serde(with = "humantime_serde")]
    pub login_code_ttl: Duration,
    /// Codes that may be tried against one sign-in attempt; a wrong last one kills it.
    pub max_login_failures: u32,
    /// How long a signed-in browser stays signed in.
    #[serde(with = "humantime_serde")]
    pub session_ttl: Duration,
    /// Sign-in codes mailed to one address.
    pub logins_per_email: Limit,
    /// Sign-in codes asked for from one client address.
    pub logins_per_ip: Limit,
    /// Authorization codes issued to one human's clients, and consents one human gives:
    /// what a signed-in human can make the store hold is bounded.
    pub authorizations_per_human: Limit,
    /// Advertise that clients may be named by their metadata document's URL: give it
    /// token-service's `clients.metadata_documents.enabled`.
    pub client_id_metadata_documents: bool,
}

impl Default for AuthorizeSettings {
    fn default() -> Self {
        Self {
            code_ttl: Duration::from_secs(60),
            login_code_ttl: Duration::from_secs(600),
            max_login_failures: 5,
            session_ttl: Duration::from_secs(8 * 3600),
            logins_per_email: Limit {
                max: 5,
                window: Duration::from_secs(900),
            },
            logins_per_ip: Limit {
                max: 30,
                window: Duration::from_secs(3600),
            },
            authorizations_per_human: default_per_human(),
            client_id_metadata_documents: true,
        }
    }
}

fn default_per_human() -> Limit {
    Limit {
        max: 60,
        window: Duration::from_secs(3600),
    }
}

impl AuthorizeSettings {
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.code_ttl.is_zero() || self.code_ttl > Duration::from_secs(60) {
            return Err(SettingsError::invalid(
                "authorize.code_ttl",
                "must be positive and at most 60s",
            ));
        }
        if self.login_code_ttl.is_zero() || self.session_ttl.is_zero() || self.max_login_failures == 0 {
            return Err(SettingsError::invalid(
                "authorize",
                "login_code_ttl, session_ttl and max_login_failures must be positive",
            ));
        }
        Ok(())
    }
}

/// How long a spent code is remembered after it expires, so a late replay is still
/// recognised and revokes its grant.
const SPENT_CODE_MEMORY: Duration = Duration::from_secs(600);

/// Hash contexts: a hash of one kind of secret never verifies as another.
const LOGIN_CODE_CONTEXT: &str = "login_code";
const AUTHORIZATION_CODE_CONTEXT: &str = "authorization_code";

/// Everything the endpoint touches.
#[derive(Debug)]
pub struct Authorizations {
    store: Arc<dyn AuthorizationStore>,
    /// Browser sessions, which a human can list and end from their page.
    sessions: Arc<dyn SessionStore>,
    directory: ClientDirectory,
    /// What was handed on in the human's and their agents' names (token-service's).
    delegations: DelegationRecords,
    hasher: SecretHasher,
    mailer: Arc<dyn Mailer>,
    limits: RateLimits,
    settings: AuthorizeSettings,
    /// Our `iss`, sent with every authorization response (RFC 9207).
    issuer: String,
    /// What a request may name: `scopes_supported` and the protected resources.
    scopes_supported: ScopeSet,
    resources: Vec<String>,
    /// The identity providers humans may sign in at.
    upstream: Arc<UpstreamProviders>,
    /// RFC 9728 `resource_name`s, for the consent page.
    resource_names: std::collections::HashMap<String, String>,
}

/// What [`Authorizations`] is built from.
#[derive(Debug)]
pub struct AuthorizationParts {
    pub store: Arc<dyn AuthorizationStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub directory: ClientDirectory,
    pub delegations: DelegationRecords,
    pub hasher: SecretHasher,
    pub mailer: Arc<dyn Mailer>,
    pub limits: RateLimits,
    pub issuer: String,
    pub scopes_supported: ScopeSet,
    pub resources: Vec<String>,
    pub upstream: Arc<UpstreamProviders>,
    pub resource_names: std::collections::HashMap<String, String>,
}

impl Authorizations {
    pub fn new(parts: AuthorizationParts, settings: AuthorizeSettings) -> Self {
        Self {
            store: parts.store,
            sessions: parts.sessions,
            directory: parts.directory,
            delegations: parts.delegations,
            hasher: parts.hasher,
            mailer: parts.mailer,
            limits: parts.limits,
            settings,
            issuer: parts.issuer,
            scopes_supported: parts.scopes_supported,
            resources: parts.resources,
            upstream: parts.upstream,
            resource_names: parts.resource_names,
        }
    }

    /// A protected resource's human-readable name (RFC 9728 `resource_name`).
    pub fn resource_name(&self, resource: &str) -> Option<&str> {
        self.resource_names.get(resource).map(String::as_str)
    }

    pub fn upstream(&self) -> &UpstreamProviders {
        &self.upstream
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn settings(&self) -> &AuthorizeSettings {
        &self.settings
    }
}
