//! Sign-in at a company's identity provider: we are an OpenID Connect relying party of
//! each provider in `humans.identity_providers` (authorization code flow, PKCE S256,
//! `state` and `nonce` kept in the browser's session, RFC 9207 `iss` checked). The
//! result is who the provider says the person is, `(provider, sub)`; which human that
//! is, and whether an address links it to one who signed in before, is
//! `crate::authorize`'s to say.
//!
//! - [`settings`]: the providers an operator configures;
//! - [`id_token`]: the ID token's validation (OpenID Connect Core §3.1.3.7).

mod error;
pub mod id_token;
mod logout;
mod provider;
pub mod settings;

pub use self::error::UpstreamError;
pub use self::provider::UpstreamProvider;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use shared::fetch::Destinations;
use shared::keys::remote::{RemoteKeySettings, check_url};
use shared::settings::SettingsError;
use url::Url;

use self::id_token::Expected;
use self::settings::HumanSettings;

/// What the provider's discovery document tells us.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ProviderMetadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    id_token_signing_alg_values_supported: Vec<String>,
    #[serde(default)]
    end_session_endpoint: Option<String>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
    #[serde(default)]
    userinfo_endpoint: Option<String>,
}

impl ProviderMetadata {
    /// `id_token_signing_alg_values_supported`; RS256 when it names none (OIDC
    /// Discovery §3 makes RS256 the one every provider supports).
    fn signing_algs(&self) -> Vec<String> {
        if self.id_token_signing_alg_values_supported.is_empty() {
            vec!["RS256".to_owned()]
        } else {
            self.id_token_signing_alg_values_supported.clone()
        }
    }
}

/// A sign-in sent to a provider and not yet back: kept in the browser's session, the
/// only place that can finish it, and taken out when it comes back (used once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSignIn {
    pub provider: String,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub max_age: Option<u64>,
}

/// What came back to the redirect URI.
#[derive(Debug, Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
}

/// Who the provider says signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamIdentity {
    pub provider: String,
    pub subject: String,
    pub email: String,
    pub email_verified: bool,
    /// When the person authenticated there, if the provider said.
    pub auth_time: Option<i64>,
    pub link_by_verified_email: bool,
}

/// How the sign-in must go: `prompt=login` and `max_age`, passed upstream.
#[derive(Debug, Clone, Copy, Default)]
pub struct Freshness {
    pub login: bool,
    pub max_age: Option<u64>,
}

/// Every configured provider, in the order the sign-in page offers them.
#[derive(Debug, Default)]
pub struct UpstreamProviders {
    providers: Vec<Arc<UpstreamProvider>>,
    email_codes: bool,
    /// Where providers send the browser back: `{issuer}/agent/sign-in/callback`.
    redirect_uri: String,
    leeway: u64,
}

/// The redirect URI's path (routed to identity-service by the ingress, as `/agent/` is).
pub const CALLBACK_PATH: &str = "/agent/sign-in/callback";

impl UpstreamProviders {
    pub fn new(
        settings: &HumanSettings,
        our_issuer: &str,
        keys: &RemoteKeySettings,
        leeway: u64,
    ) -> Result<Self, SettingsError> {
        let mut providers: Vec<Arc<UpstreamProvider>> = Vec::new();
        for (i, entry) in settings.identity_providers.iter().enumerate() {
            let key = format!("humans.identity_providers[{i}]");
            let provider = UpstreamProvider::new(&key, entry, keys)?;
            if providers.iter().any(|p| p.settings.id == entry.id) {
                return Err(SettingsError::invalid(format!("{key}.id"), "is configured twice"));
            }
            providers.push(Arc::new(provider));
        }
        if !settings.email_codes && providers.is_empty() {
            return Err(SettingsError::invalid(
                "humans.email_codes",
                "with codes off, configure at least one identity provider",
            ));
        }
        Ok(Self {
            providers,
            email_codes: settings.email_codes,
            redirect_uri: format!("{}{CALLBACK_PATH}", our_issuer.trim_end_matches('/')),
            leeway,
        })
    }

    /// `(id, display name)` of each provider, in order.
    pub fn offered(&self) -> Vec<(String, String)> {
        self.providers
            .iter()
            .map(|p| (p.settings.id.clone(), p.settings.display_name.clone()))
            .collect()
    }

    /// The providers' origins, which a sign-in form's redirect goes to (CSP
    /// `form-action`).
    pub fn origins(&self) -> Vec<String> {
        self.providers
            .iter()
            .filter_map(|p| Url::parse(&p.settings.issuer).ok())
            .map(|url| url.origin().ascii_serialization())
            .collect()
    }

    pub fn email_codes(&self) -> bool {
        self.email_codes
    }

    /// The one provider to go to at once: when it is the only way to sign in.
    pub fn only(&self) -> Option<&str> {
        match (self.email_codes, self.providers.as_slice()) {
            (false, [only]) => Some(&only.settings.id),
            _ => None,
        }
    }

    pub fn display_name(&self, id: &str) -> Option<&str> {
        self.get(id).ok().map(|p| p.settings.display_name.as_str())
    }

    /// The provider whose issuer is `issuer` (an ID-JAG's or a security event's `iss`).
    pub fn by_issuer(&self, issuer: &str) -> Option<&UpstreamProvider> {
        self.providers
            .iter()
            .find(|p| p.settings.issuer == issuer)
            .map(Arc::as_ref)
    }

    pub(crate) fn get(&self, id: &str) -> Result<&UpstreamProvider, UpstreamError> {
        self.providers
            .iter()
            .find(|p| p.settings.id == id)
            .map(Arc::as_ref)
            .ok_or(UpstreamError::UnknownProvider)
    }

    /// Starts a sign-in at `provider`: the pending sign-in for the session, and where to
    /// send the browser.
    pub async fn begin(&self, provider: &str, fresh: Freshness) -> Result<(PendingSignIn, String), UpstreamError> {
        let upstream = self.get(provider)?;
        let metadata = upstream.metadata().await?;
        let pending = PendingSignIn {
            provider: provider.to_owned(),
            state: protocol::secrets::random_token(24),
            nonce: protocol::secrets::random_token(24),
            verifier: protocol::secrets::random_token(48),
            // A fresh sign-in asked for without max_age is asked as max_age=0 too: the
            // provider must then say when the person signed in (OIDC Core §3.1.2.1), and
            // an old sign-in is refused, whether or not it honoured prompt=login.
            max_age: fresh.max_age.or(fresh.login.then_some(0)),
        };
        let mut url = Url::parse(&metadata.authorization_endpoint)
            .map_err(|_| UpstreamError::Unavailable("the provider's authorization_endpoint is not a URL".into()))?;
        let mut scopes = upstream.settings.scopes.clone();
        if !scopes.iter().any(|s| s == "openid") {
            scopes.insert(0, "openid".into());
        }
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &upstream.settings.client_id)
                .append_pair("redirect_uri", &self.redirect_uri)
                .append_pair("scope", &scopes.join(" "))
                .append_pair("state", &pending.state)
                .append_pair("nonce", &pending.nonce)
                .append_pair(
                    "code_challenge",
                    &protocol::oauth::pkce::CodeChallenge::s256_of(&pending.verifier),
                )
                .append_pair("code_challenge_method", "S256");
            if fresh.login {
                query.append_pair("prompt", "login");
            }
            if let Some(max_age) = pending.max_age {
                query.append_pair("max_age", &max_age.to_string());
            }
        }
        Ok((pending, url.into()))
    }

    /// Finishes the sign-in `pending` started with what came back: the code redeemed at
    /// the provider's token endpoint and its ID token validated.
    pub async fn finish(
        &self,
        pending: &PendingSignIn,
        callback: &Callback,
        now: i64,
    ) -> Result<UpstreamIdentity, UpstreamError> {
        let state = callback.state.as_deref().unwrap_or("");
        if !protocol::secrets::same_secret(state, &pending.state) {
            return Err(UpstreamError::NotThisSignIn);
        }
        let upstream = self.get(&pending.provider)?;
        let metadata = upstream.metadata().await?;
        // RFC 9207 §2.4: the answer names who sent it; one that names another provider is
        // a mix-up (RFC 9700 §4.4), and one that names none is refused where the provider
        // says it always names itself.
        match callback.iss.as_deref() {
            Some(iss) if iss != metadata.issuer => return Err(UpstreamError::MixUp),
            None if metadata.authorization_response_iss_parameter_supported => return Err(UpstreamError::MixUp),
            _ => {}
        }
        if callback.error.is_some() {
            return Err(UpstreamError::Denied);
        }
        let code = callback
            .code
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or(UpstreamError::Denied)?;
        let (id_token, access_token) = upstream
            .redeem(&metadata, code, &pending.verifier, &self.redirect_uri)
            .await?;
        let algs = metadata.signing_algs();
        let jwks_uri = check_url(&metadata.jwks_uri, Destinations::Configured).map_err(UpstreamError::Unavailable)?;
        let expected = Expected {
            issuer: &metadata.issuer,
            client_id: &upstream.settings.client_id,
            nonce: &pending.nonce,
            algs: &algs,
            access_token: access_token.as_deref(),
            max_age: pending.max_age,
            leeway: self.leeway,
            now,
        };
        let mut claims = id_token::validate(&id_token, &upstream.keys, &jwks_uri, &expected).await?;
        upstream
            .add_userinfo(&metadata, &mut claims, access_token.as_deref())
            .await?;
        upstream.identity(claims)
    }
}
