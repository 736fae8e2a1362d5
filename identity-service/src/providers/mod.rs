//! Trusted agent providers: issuers whose signed statements (ID-JAG identity assertions,
//! Security Event Tokens) we accept, verified against their published JWKS.

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
    /// Accept its ID-JAGs without a `typ` header. The ID-JAG draft (§3) and RFC 8725
    /// §3.11 require `typ: oauth-id-jag+jwt`; only for a provider that cannot send it.
    #[serde(default)]
    pub allow_untyped_id_jag: bool,
}

/// How provider key sets are cached and fetched.
pub type ProviderKeySettings = shared::jose::remote::RemoteKeySettings;

/// What a provider-signed token must satisfy besides its signature.
#[derive(Debug, Clone)]
pub struct ProviderExpectations {
    /// Required `aud` (our issuer).
    pub audience: String,
    /// The header `typ` it must carry (compared case-insensitively, `application/` optional).
    pub typ: &'static str,
    pub untyped: Untyped,
    /// Whether `exp` must be present (RFC 8417 Security Event Tokens usually carry none);
    /// when present it is always checked.
    pub require_exp: bool,
    /// Longest `exp - iat` accepted, when the token has an `exp`.
    pub max_lifetime: Option<Duration>,
    /// Clock skew allowed on `exp`, `nbf`, `iat`.
    pub leeway: Duration,
}

/// Whether a token without a `typ` header may pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Untyped {
    Refused,
    /// Only from a provider configured with `allow_untyped_id_jag`.
    AllowedIfProviderOptsIn,
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
    #[error("the token names critical header parameters this server does not understand")]
    UnsupportedCritical,
    #[error("the token's lifetime exceeds the maximum this server accepts")]
    LifetimeTooLong,
    #[error("the provider's keys cannot be fetched: {0}")]
    KeysUnavailable(String),
}
