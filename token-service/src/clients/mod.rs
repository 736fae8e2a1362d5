//! OAuth clients: the record and its lifecycle. Machine clients are made by an
//! operator; clients of the authorization code flow (MCP clients) register themselves
//! (`crate::registration`) and carry redirect URIs. How a client proves who it is lives
//! in `crate::client_auth`.
//!
//! - [`Client`]: the stored record, and [`ClientStore`], where it is kept. Secrets exist
//!   only as keyed hashes, at most [`MAX_SECRETS`] at once so a rotation can overlap.
//! - [`certificate`]: RFC 8705 certificates, as registered and as presented.
//! - [`lifecycle`]: what the operator's `ClientAdmin` API does to a client.
//! - [`workload`]: the workloads whose own tokens authenticate a federated client.

pub mod certificate;
pub mod lifecycle;
pub mod workload;

use protocol::id::{IdKind, PrefixedId};
use protocol::scope::ScopeSet;
use protocol::secrets::{SecretHasher, random_bytes, random_token};
use serde::{Deserialize, Serialize};

use shared::store::StoreError;

pub use certificate::{CertificateBinding, PresentedCertificate};
pub use workload::WorkloadBinding;

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
    /// Workload identity federation: a token its workload already has, as a
    /// `private_key_jwt`-shaped client assertion (or `spiffe_jwt`).
    Workload,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecret => protocol::oauth::auth_method::CLIENT_SECRET_BASIC,
            Self::None => protocol::oauth::auth_method::NONE,
            Self::PrivateKeyJwt => protocol::oauth::auth_method::PRIVATE_KEY_JWT,
            Self::TlsClientAuth => protocol::oauth::auth_method::TLS_CLIENT_AUTH,
            Self::SelfSignedTlsClientAuth => protocol::oauth::auth_method::SELF_SIGNED_TLS_CLIENT_AUTH,
            // RFC 7591 has no name of its own for it: the assertion is a private_key_jwt.
            Self::Workload => protocol::oauth::auth_method::PRIVATE_KEY_JWT,
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
    /// The workloads whose tokens authenticate it (`AuthMethod::Workload`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workloads: Vec<WorkloadBinding>,
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
    /// RFC 8693 `may_act`: who (client ids, registration ids) may act for this client
    /// by exchanging its tokens; empty: nobody.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub may_act: Vec<String>,
    /// The one secret of a record written before rotation existed; [`Client::upgraded`]
    /// makes it the first of `secrets`.
    #[serde(default, rename = "secret_hash", skip_serializing)]
    legacy_secret_hash: Option<String>,
}

impl Client {
    /// A client with no credential, scope or redirect URI yet, enabled.
    pub fn new(client_id: ClientId, name: String, created_at: i64) -> Self {
        Self {
            client_id,
            name,
            auth_method: AuthMethod::ClientSecret,
            secrets: Vec::new(),
            keys: None,
            certificate: None,
            workloads: Vec::new(),
            allowed_scopes: ScopeSet::default(),
            created_at,
            disabled: false,
            requires_dpop: false,
            introspect: false,
            redirect_uris: Vec::new(),
            logo_uri: None,
            self_registered: false,
            may_act: Vec::new(),
            legacy_secret_hash: None,
        }
    }

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
            secrets: vec![secret.secret.clone()],
            allowed_scopes,
            ..Client::new(ClientId::random(), name.to_owned(), now)
        },
        secret,
    }
}

/// Where clients are kept.
#[async_trait::async_trait]
pub trait ClientStore: Send + Sync + std::fmt::Debug {
    /// Stores a new client; never overwrites an existing one.
    async fn create(&self, client: &Client) -> Result<(), StoreError>;
    async fn get(&self, id: &ClientId) -> Result<Option<Client>, StoreError>;
    /// Replaces an existing client; `false` (nothing written) if it no longer exists, so
    /// a change racing a delete never brings the client back.
    async fn update(&self, client: &Client) -> Result<bool, StoreError>;
    /// Every client, ordered by creation time.
    async fn list(&self) -> Result<Vec<Client>, StoreError>;
    /// `false` if there was no such client.
    async fn delete(&self, id: &ClientId) -> Result<bool, StoreError>;
    /// Indexes `binding` as `id`'s, unless another client holds it: then that client.
    /// The record is what authenticates; the index only finds it when a request names
    /// no `client_id`.
    async fn bind_workload(&self, binding: &WorkloadBinding, id: &ClientId) -> Result<Option<ClientId>, StoreError>;
    /// Indexes `binding` as `id`'s whoever held it (the holder no longer does).
    async fn rebind_workload(&self, binding: &WorkloadBinding, id: &ClientId) -> Result<(), StoreError>;
    /// Drops `binding` from the index if `id` holds it.
    async fn unbind_workload(&self, binding: &WorkloadBinding, id: &ClientId) -> Result<(), StoreError>;
    /// The client bound to `subject` of `issuer`: exactly, else by the longest prefix.
    async fn workload_client(&self, issuer: &str, subject: &str) -> Result<Option<ClientId>, StoreError>;
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
