//! Clients that register themselves, for the authorization code flow (MCP clients):
//!
//! - [`ClientRegistrar`]: RFC 7591 dynamic registration under the operator's policy
//!   (open, an initial access token, or off), rate limited per client address;
//! - [`metadata`]: RFC 7591 client metadata, checked into a [`Client`];
//! - [`metadata_document`]: clients whose id is the URL of their metadata document,
//!   which register nothing here.

pub mod metadata;
pub mod metadata_document;

use std::sync::Arc;

use protocol::oauth::{TokenEndpointSettings, auth_method};
use protocol::scope::ScopeSet;
use protocol::secrets::SecretHasher;
use shared::keys::remote::RemoteKeys;

use self::metadata::{
    ClientMetadata, NewRegistration, check_grant_types, check_logo, check_name, check_redirect_uris, client_keys,
    metadata_error,
};
use crate::clients::{AuthMethod, Client, ClientId, ClientStore, issue_secret};
use crate::error::OAuthError;
use serde::{Deserialize, Serialize};

/// Hash context of the initial access token.
pub const INITIAL_ACCESS_TOKEN_CONTEXT: &str = "initial_access_token";

/// Who may register (`client_registration.policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientRegistrationPolicy {
    /// Anyone may register (MCP clients expect this).
    Open,
    /// Only with the initial access token.
    Token,
    /// `/oauth2/register` is not served.
    Disabled,
}

/// The registration policy, resolved once at startup.
#[derive(Debug)]
pub struct RegistrationRules {
    pub policy: ClientRegistrationPolicy,
    /// The most a self-registered client may get.
    pub scopes: ScopeSet,
    /// The keyed hash of the initial access token, when the policy needs one.
    pub initial_access_token_hash: Option<String>,
    pub per_ip: shared::ratelimit::Limit,
    pub limiter: Arc<dyn shared::ratelimit::RateLimiter>,
}

/// RFC 7591 registration: who may register, and what a registration becomes.
#[derive(Debug)]
pub struct ClientRegistrar {
    pub rules: RegistrationRules,
    pub clients: Arc<dyn ClientStore>,
    pub hasher: SecretHasher,
    /// Which authentication methods the token endpoint accepts.
    pub endpoint: TokenEndpointSettings,
    /// Where a `jwks_uri` may point.
    pub fetched_keys: Arc<RemoteKeys>,
}

impl ClientRegistrar {
    /// Whether a registration request may be handled at all: the policy, its initial
    /// access token (`Authorization: Bearer`, as sent), and the per-address limit.
    pub async fn admit(&self, initial_access_token: Option<&str>, client_address: &str) -> Result<(), OAuthError> {
        match self.rules.policy {
            ClientRegistrationPolicy::Disabled => {
                return Err(OAuthError::InvalidRequest(
                    "client registration is disabled on this server".into(),
                ));
            }
            ClientRegistrationPolicy::Token => self.check_initial_access_token(initial_access_token)?,
            ClientRegistrationPolicy::Open => {}
        }
        let bucket = format!("client-registration:{client_address}");
        let limiter = self.rules.limiter.as_ref();
        if let Some(retry_after) = shared::ratelimit::refusal(limiter, &bucket, self.rules.per_ip).await {
            return Err(OAuthError::RateLimited { retry_after });
        }
        Ok(())
    }

    fn check_initial_access_token(&self, presented: Option<&str>) -> Result<(), OAuthError> {
        let Some(token) = presented else {
            return Err(OAuthError::InvalidToken(
                "client registration needs an initial access token (Authorization: Bearer)",
            ));
        };
        let expected = self.rules.initial_access_token_hash.as_deref();
        if !expected.is_some_and(|hash| self.hasher.verify(INITIAL_ACCESS_TOKEN_CONTEXT, token, hash)) {
            return Err(OAuthError::InvalidToken("the initial access token is not valid"));
        }
        Ok(())
    }

    /// Checks `metadata` into a new client and stores it.
    pub async fn register(&self, metadata: ClientMetadata, now: i64) -> Result<NewRegistration, OAuthError> {
        let registered = self.checked(metadata, now)?;
        self.clients.create(&registered.client).await?;
        Ok(registered)
    }

    /// `metadata` as a new client that may get at most the policy's scopes.
    fn checked(&self, metadata: ClientMetadata, now: i64) -> Result<NewRegistration, OAuthError> {
        check_grant_types(&metadata)?;
        let redirect_uris = check_redirect_uris(metadata.redirect_uris)?;
        let (auth_method, keys) = match metadata
            .token_endpoint_auth_method
            .as_deref()
            .unwrap_or(auth_method::CLIENT_SECRET_BASIC)
        {
            auth_method::NONE => (AuthMethod::None, None),
            auth_method::CLIENT_SECRET_BASIC | auth_method::CLIENT_SECRET_POST => (AuthMethod::ClientSecret, None),
            auth_method::PRIVATE_KEY_JWT => (
                AuthMethod::PrivateKeyJwt,
                Some(client_keys(&self.fetched_keys, metadata.jwks_uri, metadata.jwks)?),
            ),
            _ => {
                return Err(metadata_error(
                    "token_endpoint_auth_method must be none, client_secret_basic, client_secret_post or private_key_jwt",
                ));
            }
        };
        if auth_method != AuthMethod::None && !self.endpoint.accepts(auth_method.as_str()) {
            return Err(metadata_error(
                "this token_endpoint_auth_method is not enabled on this server",
            ));
        }
        let grantable = &self.rules.scopes;
        let scopes = match metadata.scope.as_deref() {
            None => grantable.clone(),
            Some(raw) => ScopeSet::parse(raw)
                .map_err(|_| metadata_error("scope must be scope tokens separated by single spaces"))?
                .intersection(grantable),
        };
        if scopes.is_empty() {
            return Err(metadata_error("none of the requested scopes may be registered"));
        }
        let name = match metadata.client_name {
            Some(name) => check_name(&name)?,
            None => String::new(),
        };
        let logo_uri = metadata.logo_uri.map(|uri| check_logo(&uri)).transpose()?;
        let secret = (auth_method == AuthMethod::ClientSecret).then(|| issue_secret(&self.hasher, now));
        let mut client = Client::new(ClientId::random(), name, now);
        client.auth_method = auth_method;
        client.secrets = secret.iter().map(|s| s.secret.clone()).collect();
        client.keys = keys;
        client.allowed_scopes = scopes;
        client.redirect_uris = redirect_uris;
        client.logo_uri = logo_uri;
        client.self_registered = true;
        Ok(NewRegistration { client, secret })
    }
}
