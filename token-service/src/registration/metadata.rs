//! RFC 7591 client metadata: what a client may register for itself at `/oauth2/register`,
//! checked strictly where a mistake is a security hole (redirect URIs, authentication
//! method, grant types) and read leniently elsewhere: metadata we do not know, such as
//! the `resource` MCP clients send, is ignored (§2: "the authorization server MUST ignore
//! any client metadata sent by the client that it does not understand").

use protocol::oauth::redirect::check_registered;
use serde::{Deserialize, Serialize};

use shared::keys::remote::RemoteKeys;

use crate::clients::{Client, ClientKeys, IssuedSecret};
use crate::error::OAuthError;

/// Redirect URIs one client may register: more is a sign of abuse, not of need.
const MAX_REDIRECT_URIS: usize = 20;
const MAX_NAME_CHARS: usize = 200;
const MAX_URI_LEN: usize = 2000;

const AUTHORIZATION_CODE: &str = "authorization_code";
const REFRESH_TOKEN: &str = "refresh_token";

/// The metadata of a registration request (RFC 7591 §2), as sent.
#[derive(Debug, Default, Deserialize)]
pub struct ClientMetadata {
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub response_types: Option<Vec<String>>,
    pub client_name: Option<String>,
    pub logo_uri: Option<String>,
    pub scope: Option<String>,
    pub jwks_uri: Option<String>,
    pub jwks: Option<serde_json::Value>,
}

/// The registered client, as the §3.2.1 response describes it.
#[derive(Debug, Serialize)]
pub struct RegisteredClient {
    pub client_id: String,
    pub client_id_issued_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// §3.2.1: 0 when the secret does not expire; sent only with a secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<i64>,
    /// Left out when the client sent none (RFC 7591 §3.2.1 returns what was registered).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    pub grant_types: [&'static str; 2],
    pub response_types: [&'static str; 1],
    pub token_endpoint_auth_method: &'static str,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
}

/// A checked registration: the client to store, and its secret (shown once) if it is
/// confidential.
#[derive(Debug)]
pub struct NewRegistration {
    pub client: Client,
    pub secret: Option<IssuedSecret>,
}

impl NewRegistration {
    /// The §3.2.1 response for it.
    pub fn response(&self) -> RegisteredClient {
        let client = &self.client;
        RegisteredClient {
            client_id: client.client_id.to_string(),
            client_id_issued_at: client.created_at,
            client_secret: self.secret.as_ref().map(|s| s.value.clone()),
            client_secret_expires_at: self.secret.as_ref().map(|_| 0),
            client_name: client.name.clone(),
            redirect_uris: client.redirect_uris.clone(),
            grant_types: [AUTHORIZATION_CODE, REFRESH_TOKEN],
            response_types: ["code"],
            token_endpoint_auth_method: client.auth_method.as_str(),
            scope: client.allowed_scopes.to_string(),
            logo_uri: client.logo_uri.clone(),
            jwks_uri: match &client.keys {
                Some(ClientKeys::JwksUri(uri)) => Some(uri.clone()),
                _ => None,
            },
        }
    }
}

/// A self-registered client uses the authorization code flow and nothing else: a
/// `client_credentials` client acts on its own authority, which only an operator gives.
pub fn check_grant_types(metadata: &ClientMetadata) -> Result<(), OAuthError> {
    let grant_types = metadata.grant_types.as_deref().unwrap_or_default();
    if let Some(other) = grant_types
        .iter()
        .find(|g| ![AUTHORIZATION_CODE, REFRESH_TOKEN].contains(&g.as_str()))
    {
        let message = if other == protocol::oauth::grant_type::CLIENT_CREDENTIALS {
            "client_credentials clients are made by an operator, not registered"
        } else {
            "grant_types may hold only authorization_code and refresh_token"
        };
        return Err(metadata_error(message));
    }
    if !grant_types.is_empty() && !grant_types.iter().any(|g| g == AUTHORIZATION_CODE) {
        return Err(metadata_error("grant_types must include authorization_code"));
    }
    let response_types = metadata.response_types.as_deref().unwrap_or_default();
    if response_types.iter().any(|r| r != "code") {
        return Err(metadata_error("response_types may hold only code"));
    }
    Ok(())
}

pub fn check_redirect_uris(uris: Vec<String>) -> Result<Vec<String>, OAuthError> {
    if uris.is_empty() {
        return Err(OAuthError::InvalidRedirectUri(
            "redirect_uris is required for the authorization code flow".into(),
        ));
    }
    if uris.len() > MAX_REDIRECT_URIS {
        return Err(OAuthError::InvalidRedirectUri(format!(
            "at most {MAX_REDIRECT_URIS} redirect_uris"
        )));
    }
    for uri in &uris {
        check_registered(uri).map_err(|e| OAuthError::InvalidRedirectUri(e.to_string()))?;
    }
    let mut unique: Vec<String> = Vec::with_capacity(uris.len());
    for uri in uris {
        if !unique.contains(&uri) {
            unique.push(uri);
        }
    }
    Ok(unique)
}

pub fn check_name(name: &str) -> Result<String, OAuthError> {
    let name = name.trim();
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(metadata_error(
            "client_name must be at most 200 characters, with no control characters",
        ));
    }
    Ok(name.to_owned())
}

pub fn check_logo(uri: &str) -> Result<String, OAuthError> {
    let https = uri.len() <= MAX_URI_LEN && url::Url::parse(uri).is_ok_and(|u| u.scheme() == "https" && u.has_host());
    if !https {
        return Err(metadata_error("logo_uri must be an https URL"));
    }
    Ok(uri.to_owned())
}

pub(super) fn client_keys(
    fetched_keys: &RemoteKeys,
    jwks_uri: Option<String>,
    jwks: Option<serde_json::Value>,
) -> Result<ClientKeys, OAuthError> {
    match (jwks_uri, jwks) {
        (Some(uri), None) => {
            fetched_keys
                .check_url(&uri)
                .map_err(|e| metadata_error_owned(format!("jwks_uri: {e}")))?;
            Ok(ClientKeys::JwksUri(uri))
        }
        (None, Some(set)) => {
            let json = set.to_string();
            // The operator's rule for registered key sets: public signing keys only.
            crate::clients::lifecycle::check_jwks(&json).map_err(|e| metadata_error_owned(format!("jwks: {e}")))?;
            Ok(ClientKeys::Jwks(json))
        }
        _ => Err(metadata_error("private_key_jwt needs exactly one of jwks_uri and jwks")),
    }
}

pub(super) fn metadata_error(message: &'static str) -> OAuthError {
    OAuthError::InvalidClientMetadata(message.into())
}

fn metadata_error_owned(message: String) -> OAuthError {
    OAuthError::InvalidClientMetadata(message)
}
