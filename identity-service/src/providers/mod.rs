//! Trusted agent providers: issuers whose signed statements (ID-JAG identity assertions,
//! Security Event Tokens) we accept, verified against their published JWKS.

mod jwks;
mod keys;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use keys::ProviderKeys;

/// One trusted provider, as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderSettings {
    /// Exactly the `iss` its tokens carry.
    pub issuer: String,
    /// Where its signing keys are published (https in production).
    pub jwks_uri: String,
}

/// How provider key sets are cached and fetched.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProviderKeySettings {
    /// `Cache-Control: max-age` is honoured within these bounds; no header means `min_cache`.
    #[serde(with = "humantime_serde")]
    pub min_cache: Duration,
    #[serde(with = "humantime_serde")]
    pub max_cache: Duration,
    /// An unknown `kid` triggers at most one refetch per provider per this interval.
    #[serde(with = "humantime_serde")]
    pub refetch_cooldown: Duration,
    /// Bound on each JWKS fetch.
    #[serde(with = "humantime_serde")]
    pub fetch_timeout: Duration,
}

impl Default for ProviderKeySettings {
    fn default() -> Self {
        Self {
            min_cache: Duration::from_secs(60),
            max_cache: Duration::from_secs(24 * 3600),
            refetch_cooldown: Duration::from_secs(30),
            fetch_timeout: Duration::from_secs(5),
        }
    }
}

/// What a provider-signed token must satisfy besides its signature.
#[derive(Debug, Clone)]
pub struct ProviderExpectations {
    /// Required `aud` (our issuer).
    pub audience: String,
    /// When the header has a `typ`, it must be this (compared case-insensitively).
    pub typ: &'static str,
    /// Whether a missing `typ` header is acceptable.
    pub typ_required: bool,
    /// Whether `exp` must be present (RFC 8417 Security Event Tokens usually carry none);
    /// when present it is always checked.
    pub require_exp: bool,
    /// Clock skew allowed on `exp`, `nbf`, `iat`.
    pub leeway: Duration,
}

/// Why a provider-signed token was refused; each maps to one wire error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("the token is not a well-formed signed JWT: {0}")]
    Malformed(String),
    #[error("`{0}` is not a trusted provider")]
    UntrustedIssuer(String),
    #[error("the provider publishes no key `{0}`")]
    UnknownKey(String),
    #[error("the signature does not verify")]
    InvalidSignature,
    #[error("the token has expired or is not valid yet")]
    Expired,
    #[error("the token is meant for another audience")]
    InvalidAudience,
    #[error("the token has the wrong type")]
    WrongType,
    #[error("the provider's keys cannot be fetched: {0}")]
    KeysUnavailable(String),
}
