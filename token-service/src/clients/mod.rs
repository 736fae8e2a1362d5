//! Machine clients (`client_credentials`) and client authentication.

mod auth;

use std::fmt;

use serde::{Deserialize, Serialize};
use shared::scope::ScopeSet;
use shared::secrets::{SecretHasher, random_bytes, random_token};

pub use auth::{ClientCredentials, authenticate, presented_credentials};

/// Hash context of client secrets.
pub const CLIENT_SECRET_CONTEXT: &str = "client_secret";

/// `cli_` followed by 32 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientId(String);

#[derive(Debug, thiserror::Error)]
#[error("not a client id")]
pub struct InvalidClientId;

impl ClientId {
    const PREFIX: &'static str = "cli_";

    pub fn random() -> Self {
        let hex: String = random_bytes(16).iter().map(|b| format!("{b:02x}")).collect();
        Self(format!("{}{hex}", Self::PREFIX))
    }

    pub fn parse(value: &str) -> Result<Self, InvalidClientId> {
        let hex = value.strip_prefix(Self::PREFIX).ok_or(InvalidClientId)?;
        let valid = hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidClientId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ClientId {
    type Error = InvalidClientId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ClientId> for String {
    fn from(id: ClientId) -> Self {
        id.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A registered machine client. The secret exists only as a keyed hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub client_id: ClientId,
    pub name: String,
    pub secret_hash: String,
    /// The most a `client_credentials` token of this client may carry.
    pub allowed_scopes: ScopeSet,
    pub created_at: i64,
}

/// A new client and its secret, which is shown once and stored only hashed.
#[derive(Debug)]
pub struct NewClient {
    pub client: Client,
    pub secret: String,
}

pub fn new_client(hasher: &SecretHasher, name: &str, allowed_scopes: ScopeSet, now: i64) -> NewClient {
    let secret = random_token(32);
    NewClient {
        client: Client {
            client_id: ClientId::random(),
            name: name.to_owned(),
            secret_hash: hasher.hash(CLIENT_SECRET_CONTEXT, &secret),
            allowed_scopes,
            created_at: now,
        },
        secret,
    }
}
