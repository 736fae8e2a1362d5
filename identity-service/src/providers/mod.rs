//! Trusted agent providers: issuers whose signed statements (ID-JAG identity assertions,
//! Security Event Tokens) we accept, verified against their published JWKS.
//!
//! - [`ProviderKeys`]: the providers' published keys, fetched and cached; one signature
//!   check per token, with the header, audience and time rules.
//! - [`ProviderTrust`]: what the rest of the service asks: "is this a fresh ID-JAG?",
//!   "is this a new security event?", answered with typed claims.
//! - [`ProviderError`] (defined in `crate::error`, beside its wire mapping): why a
//!   provider's token was refused.

mod claims;
mod keys;
mod trust;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::error::ProviderError;
pub use claims::{EventSubject, IdJag, SecurityEvent};
pub use keys::ProviderKeys;
pub use trust::{EventKind, ProviderTrust};

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
pub type ProviderKeySettings = shared::keys::remote::RemoteKeySettings;

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
