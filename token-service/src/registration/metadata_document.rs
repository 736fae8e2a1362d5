//! OAuth Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document):
//! an MCP client's `client_id` is an https URL, and the JSON document at that URL is its
//! registration. Nothing is stored: the document is fetched SSRF-safe with the shared
//! [`Fetcher`], at most [`MAX_DOCUMENT_BYTES`], and kept for as long as its HTTP caching
//! headers allow (within the configured bounds).
//!
//! The rules the draft sets (§3, §4) and we enforce: the URL is https with a path, no
//! fragment, no user information and no dot segments; the document's `client_id` equals
//! the URL exactly; the client authenticates with `none` or `private_key_jwt`, never a
//! shared secret; and the operator's `allowed_hosts` (empty: any host) names which hosts
//! may be clients at all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use protocol::oauth::auth_method;
use protocol::scope::ScopeSet;
use serde::{Deserialize, Serialize};
use shared::fetch::{Destinations, Fetcher};
use url::Url;

use super::metadata::{ClientMetadata, check_grant_types, check_logo, check_name, check_redirect_uris};

/// §6.6 recommends at most 5 kilobytes.
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024;
/// Documents kept at once; past it, expired ones are dropped first, then all.
const MAX_CACHED: usize = 10_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetadataDocumentSettings {
    /// Accept https `client_id`s whose document we fetch.
    pub enabled: bool,
    /// Hosts that may be clients (exact names, or `*.example.com` for any subdomain);
    /// empty: any public host.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    #[serde(with = "humantime_serde")]
    pub fetch_timeout: Duration,
    /// `Cache-Control: max-age` is honoured within these bounds; none means `min_cache`.
    #[serde(with = "humantime_serde")]
    pub min_cache: Duration,
    #[serde(with = "humantime_serde")]
    pub max_cache: Duration,
    /// PEM CA certificates trusted for document fetches besides the system's, for
    /// clients served from a private PKI.
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
}

impl Default for MetadataDocumentSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            allowed_hosts: Vec::new(),
            fetch_timeout: Duration::from_secs(5),
            min_cache: Duration::from_secs(60),
            max_cache: Duration::from_secs(24 * 3600),
            ca_file: None,
        }
    }
}

/// What a metadata document registers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentClient {
    /// The document's URL, which is the client id.
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub logo_uri: Option<String>,
    /// `None` for a public client; else the `jwks_uri` of its `private_key_jwt` keys.
    pub jwks_uri: Option<String>,
    pub scopes: ScopeSet,
}

/// Why a document client may not be used; safe to show the human.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("client metadata documents are not accepted here")]
    Disabled,
    #[error("the client id is not a valid metadata document URL: {0}")]
    BadUrl(&'static str),
    #[error("this host may not be a client here")]
    HostNotAllowed,
    #[error("the client metadata document cannot be fetched: {0}")]
    Unavailable(String),
    #[error("the client metadata document is invalid: {0}")]
    Invalid(String),
}

#[derive(Debug)]
struct Cached {
    client: Arc<DocumentClient>,
    until: Instant,
}

/// Fetched documents, by URL.
#[derive(Debug)]
pub struct MetadataDocuments {
    fetcher: Fetcher,
    settings: MetadataDocumentSettings,
    /// The most a document client may get (`client_registration.scopes`).
    scopes: ScopeSet,
    cache: Mutex<HashMap<String, Cached>>,
}

impl MetadataDocuments {
    pub fn new(
        settings: &MetadataDocumentSettings,
        scopes: ScopeSet,
        destinations: Destinations,
    ) -> Result<Self, shared::settings::SettingsError> {
        if settings.min_cache > settings.max_cache {
            return Err(shared::settings::SettingsError::invalid(
                "clients.metadata_documents.min_cache",
                "must not exceed max_cache",
            ));
        }
        let invalid = |key: &str, e: String| shared::settings::SettingsError::invalid(key, e);
        let roots = match &settings.ca_file {
            Some(path) => Some(
                std::fs::read(path)
                    .map_err(|e| invalid("clients.metadata_documents.ca_file", format!("{}: {e}", path.display())))?,
            ),
            None => None,
        };
        let fetcher = Fetcher::trusting(settings.fetch_timeout, destinations, roots.as_deref())
            .map_err(|e| invalid("clients.metadata_documents", e))?;
        Ok(Self {
            fetcher,
            settings: settings.clone(),
            scopes,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// Whether `client_id` names a metadata document rather than a registered client.
    pub fn is_document_id(client_id: &str) -> bool {
        client_id.starts_with("https://") || client_id.starts_with("http://")
    }

    /// The client the document at `client_id` registers: cached, or fetched now.
    pub async fn resolve(&self, client_id: &str) -> Result<Arc<DocumentClient>, DocumentError> {
        if !self.settings.enabled {
            return Err(DocumentError::Disabled);
        }
        let url = self.check_client_id(client_id)?;
        if let Some(client) = self.cached(client_id) {
            return Ok(client);
        }
        let fetched = self
            .fetcher
            .get(&url, &["application/json"], MAX_DOCUMENT_BYTES)
            .await
            .map_err(DocumentError::Unavailable)?;
        let client = Arc::new(self.parse(client_id, &fetched.body)?);
        let (min, max) = (self.settings.min_cache, self.settings.max_cache);
        let keep = fetched.max_age.map_or(min, |age| age.clamp(min, max));
        self.remember(client_id, client.clone(), fetched.fetched_at + keep);
        tracing::info!(client_id, "client metadata document fetched");
        Ok(client)
    }

    fn check_client_id(&self, client_id: &str) -> Result<Url, DocumentError> {
        let url = self
            .fetcher
            .check_url(client_id)
            .map_err(|_| DocumentError::BadUrl("it must be an https URL of a public host"))?;
        if url.path() == "/" || url.path().is_empty() {
            return Err(DocumentError::BadUrl("it must have a path"));
        }
        if client_id.contains('#') || !url.username().is_empty() || url.password().is_some() {
            return Err(DocumentError::BadUrl(
                "it must have no fragment and no user information",
            ));
        }
        // `Url` resolves dot segments away; the string must not have had any.
        if url.as_str() != client_id {
            return Err(DocumentError::BadUrl("it must be in normal form, with no dot segments"));
        }
        let host = url.host_str().unwrap_or_default();
        if !self.settings.allowed_hosts.is_empty() && !self.settings.allowed_hosts.iter().any(|a| host_matches(a, host))
        {
            return Err(DocumentError::HostNotAllowed);
        }
        Ok(url)
    }

    fn parse(&self, client_id: &str, body: &[u8]) -> Result<DocumentClient, DocumentError> {
        #[derive(Deserialize)]
        struct Document {
            client_id: String,
            client_secret: Option<serde_json::Value>,
            #[serde(flatten)]
            metadata: ClientMetadata,
        }
        let invalid = |message: String| DocumentError::Invalid(message);
        let document: Document =
            serde_json::from_slice(body).map_err(|e| invalid(format!("it does not parse: {e}")))?;
        // §4.1: compared as strings, exactly.
        if document.client_id != client_id {
            return Err(invalid("its client_id is not the URL it was fetched from".into()));
        }
        let metadata = document.metadata;
        let to_message = |e: crate::error::OAuthError| invalid(e.to_string());
        check_grant_types(&metadata).map_err(to_message)?;
        let redirect_uris = check_redirect_uris(metadata.redirect_uris.clone()).map_err(to_message)?;
        let jwks_uri = self.jwks_uri(&metadata)?;
        if document.client_secret.is_some() {
            return Err(invalid("a metadata document must not carry a client_secret".into()));
        }
        let scopes = match metadata.scope.as_deref() {
            None => self.scopes.clone(),
            Some(raw) => ScopeSet::parse(raw)
                .map_err(|_| invalid("scope must be scope tokens separated by single spaces".into()))?
                .intersection(&self.scopes),
        };
        Ok(DocumentClient {
            client_id: client_id.to_owned(),
            name: metadata
                .client_name
                .as_deref()
                .map(check_name)
                .transpose()
                .map_err(to_message)?
                .unwrap_or_default(),
            redirect_uris,
            logo_uri: metadata
                .logo_uri
                .as_deref()
                .map(check_logo)
                .transpose()
                .map_err(to_message)?,
            jwks_uri,
            scopes,
        })
    }

    /// §4.1: a document client is public, or authenticates with `private_key_jwt` and
    /// keys at a `jwks_uri` this server may fetch.
    fn jwks_uri(&self, metadata: &ClientMetadata) -> Result<Option<String>, DocumentError> {
        let invalid = |message: String| DocumentError::Invalid(message);
        let method = metadata
            .token_endpoint_auth_method
            .as_deref()
            .unwrap_or(auth_method::NONE);
        Ok(match method {
            auth_method::NONE => None,
            auth_method::PRIVATE_KEY_JWT => {
                let uri = metadata
                    .jwks_uri
                    .clone()
                    .ok_or_else(|| invalid("private_key_jwt needs a jwks_uri".into()))?;
                self.fetcher
                    .check_url(&uri)
                    .map_err(|e| invalid(format!("jwks_uri: {e}")))?;
                Some(uri)
            }
            // §4.1: a document is public; a shared secret in it would be no secret.
            _ => {
                return Err(invalid(
                    "token_endpoint_auth_method must be none or private_key_jwt".into(),
                ));
            }
        })
    }

    fn cached(&self, client_id: &str) -> Option<Arc<DocumentClient>> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache
            .get(client_id)
            .filter(|c| c.until > Instant::now())
            .map(|c| c.client.clone())
    }

    fn remember(&self, client_id: &str, client: Arc<DocumentClient>, until: Instant) {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= MAX_CACHED {
            let now = Instant::now();
            cache.retain(|_, c| c.until > now);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(client_id.to_owned(), Cached { client, until });
    }
}

/// `pattern` is a host name, or `*.example.com` for any subdomain of example.com.
fn host_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(domain) => {
            host.len() > domain.len() + 1 && host.ends_with(domain) && host[..host.len() - domain.len()].ends_with('.')
        }
        None => pattern.eq_ignore_ascii_case(host),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_hosts_match_exactly_or_by_subdomain_wildcard() {
        assert!(host_matches("app.example.com", "app.example.com"));
        assert!(!host_matches("app.example.com", "evil-app.example.com"));
        assert!(host_matches("*.example.com", "a.example.com"));
        assert!(!host_matches("*.example.com", "example.com"));
        assert!(!host_matches("*.example.com", "evilexample.com"));
    }
}
