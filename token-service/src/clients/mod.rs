//! OAuth clients: who they are, how they authenticate, and their lifecycle. Machine
//! clients are made by an operator; clients of the authorization code flow (MCP clients)
//! register themselves (RFC 7591) and carry redirect URIs.
//!
//! - [`Client`]: the stored record. Secrets exist only as keyed hashes, at most
//!   [`MAX_SECRETS`] at once so a rotation can overlap.
//! - [`registration`]: RFC 7591 client metadata, checked into a [`Client`].
//! - [`metadata_document`]: clients whose id is the URL of their metadata document.
//! - [`auth`]: client authentication at the token endpoint (RFC 6749 §2.3, RFC 7523 §2.2
//!   `private_key_jwt`, RFC 8705 mTLS).
//! - [`lifecycle`]: what the operator's `ClientAdmin` API does to a client.
//! - `private_key_jwt`: RFC 7523 client assertions and the registered key sets.

mod auth;
mod certificate;
mod identify;
pub mod lifecycle;
pub mod metadata_document;
mod private_key_jwt;
pub mod registration;

use serde::{Deserialize, Serialize};
use shared::id::{IdKind, PrefixedId};
use shared::scope::ScopeSet;
use shared::secrets::{SecretHasher, random_bytes, random_token};

pub use auth::{Authenticated, ClientCredentials, authenticate, presented_certificate, presented_credentials};
pub use certificate::{CertificateBinding, PresentedCertificate};
pub use identify::{Identified, identify};
pub use private_key_jwt::InlineKeys;

/// Hash context of client secrets.
pub const CLIENT_SECRET_CONTEXT: &str = "client_secret";
/// Active secrets a client may hold: the current one and the one replacing it.
pub const MAX_SECRETS: usize = 2;

/// Machine clients' identifiers: `cli_` followed by 32 lowercase hex digits.
#[derive(Debug)]
pub enum ClientKind {}

impl IdKind for ClientKind {
    const PREFIX: &'static str = "cli_";
    const WHAT: &'static str = "client id";
}

pub type ClientId = PrefixedId<ClientKind>;

fn hex(bytes: usize) -> String {
    random_bytes(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// How a client proves who it is at the token endpoint (RFC 7591 `token_endpoint_auth_method`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// `client_secret_basic`, also accepting `client_secret_post`.
    #[default]
    ClientSecret,
    /// A public client (a native or browser app): it holds no credential, so it may use
    /// only the authorization code flow, with PKCE.
    None,
    PrivateKeyJwt,
    TlsClientAuth,
    SelfSignedTlsClientAuth,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecret => shared::oauth::auth_method::CLIENT_SECRET_BASIC,
            Self::None => shared::oauth::auth_method::NONE,
            Self::PrivateKeyJwt => shared::oauth::auth_method::PRIVATE_KEY_JWT,
            Self::TlsClientAuth => shared::oauth::auth_method::TLS_CLIENT_AUTH,
            Self::SelfSignedTlsClientAuth => shared::oauth::auth_method::SELF_SIGNED_TLS_CLIENT_AUTH,
        }
    }
}

/// One of a client's secrets, as a keyed hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSecret {
    /// `sec_` + 8 hex digits: names the secret for rotation, reveals nothing of it.
    pub id: String,
    pub hash: String,
    pub created_at: i64,
}

/// Where a `private_key_jwt` client's public keys are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientKeys {
    /// A JWK Set, as registered.
    Jwks(String),
    /// An https URL the client publishes its JWK Set at.
    JwksUri(String),
}

/// A registered machine client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub client_id: ClientId,
    pub name: String,
    #[serde(default)]
    pub auth_method: AuthMethod,
    #[serde(default)]
    pub secrets: Vec<ClientSecret>,
    #[serde(default)]
    pub keys: Option<ClientKeys>,
    #[serde(default)]
    pub certificate: Option<CertificateBinding>,
    /// The most a `client_credentials` token of this client may carry.
    pub allowed_scopes: ScopeSet,
    pub created_at: i64,
    /// A disabled client gets no token, and its live tokens introspect as inactive.
    #[serde(default)]
    pub disabled: bool,
    /// Every token it gets must be DPoP-bound.
    #[serde(default)]
    pub requires_dpop: bool,
    /// A resource server: may call `/oauth2/introspect`.
    #[serde(default)]
    pub introspect: bool,
    /// Where the authorization endpoint may send a code (none: no authorization code
    /// flow, as for every operator-made machine client).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirect_uris: Vec<String>,
    /// https URL of a logo the consent page may show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    /// Registered by the client itself (RFC 7591), not by an operator.
    #[serde(default)]
    pub self_registered: bool,
    /// The one secret of a record written before rotation existed; [`Client::upgraded`]
    /// makes it the first of `secrets`.
    #[serde(default, rename = "secret_hash", skip_serializing)]
    legacy_secret_hash: Option<String>,
}

impl Client {
    /// The record in today's shape: a single-secret record from before rotation keeps
    /// authenticating, its secret named `sec_00000000`.
    pub fn upgraded(mut self) -> Self {
        if let Some(hash) = self.legacy_secret_hash.take()
            && self.secrets.is_empty()
        {
            self.secrets.push(ClientSecret {
                id: "sec_00000000".into(),
                hash,
                created_at: self.created_at,
            });
        }
        self
    }
}

/// A new secret, shown once; the client stores only its hash.
#[derive(Debug)]
pub struct IssuedSecret {
    pub secret: ClientSecret,
    pub value: String,
}

/// A fresh secret of ≥ 256 bits for a client.
pub fn issue_secret(hasher: &SecretHasher, now: i64) -> IssuedSecret {
    let value = random_token(32);
    IssuedSecret {
        secret: ClientSecret {
            id: format!("sec_{}", hex(4)),
            hash: hasher.hash(CLIENT_SECRET_CONTEXT, &value),
            created_at: now,
        },
        value,
    }
}

/// A new client and its first secret, which is shown once and stored only hashed.
#[derive(Debug)]
pub struct NewClient {
    pub client: Client,
    pub secret: IssuedSecret,
}

pub fn new_client(hasher: &SecretHasher, name: &str, allowed_scopes: ScopeSet, now: i64) -> NewClient {
    let secret = issue_secret(hasher, now);
    NewClient {
        client: Client {
            client_id: ClientId::random(),
            name: name.to_owned(),
            auth_method: AuthMethod::ClientSecret,
            secrets: vec![secret.secret.clone()],
            keys: None,
            certificate: None,
            allowed_scopes,
            created_at: now,
            disabled: false,
            requires_dpop: false,
            introspect: false,
            redirect_uris: Vec::new(),
            logo_uri: None,
            self_registered: false,
            legacy_secret_hash: None,
        },
        secret,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_from_before_rotation_keeps_its_secret() {
        let old = r#"{"client_id":"cli_0123456789abcdef0123456789abcdef","name":"old","secret_hash":"h4sh","allowed_scopes":["a"],"created_at":5}"#;
        let client = serde_json::from_str::<Client>(old).expect("decodes").upgraded();
        assert_eq!(client.auth_method, AuthMethod::ClientSecret);
        assert_eq!(client.secrets.len(), 1);
        assert_eq!(
            (client.secrets[0].hash.as_str(), client.secrets[0].created_at),
            ("h4sh", 5)
        );
        let rewritten = serde_json::to_string(&client).expect("encodes");
        assert!(!rewritten.contains("\"secret_hash\""), "{rewritten}");
    }
}
