//! The protocol rules of agentauth, apart from its plumbing: pure functions and types,
//! with no I/O, no async runtime and no store, so a resource server's verifier can reuse
//! them without pulling in Redis, actix or tonic (`cargo tree -p protocol` shows none).
//!
//! - [`jose`]: JWS algorithms, the key ring and its verification, signing with keys
//!   parsed once, key sets others publish (parsed), DPoP proofs (RFC 9449), our identity
//!   assertions' rules, RFC 7519 time claims.
//! - [`oauth`]: OAuth wire names, the token endpoint's capabilities, protected resources
//!   (RFC 9728), PKCE (RFC 7636) and redirect URI rules.
//! - [`scope`]: RFC 6749 §3.3 scope tokens and sets.
//! - [`secrets`]: random secrets, keyed hashes, constant-time comparison.
//! - [`id`]: `<prefix>_<hex>` identifiers (registrations, clients, claim attempts).
//!
//! Arrows run one way, from the later modules of this list to the earlier (the floors
//! `tools/floors/protocol.txt` checks): `secrets`, `scope` and `jose::alg` are values;
//! `id` uses `secrets`; `jose` uses both; `oauth` uses `jose::alg` and `scope`.

#![forbid(unsafe_code)]

pub mod id;
pub mod jose;
pub mod oauth;
pub mod scope;
pub mod secrets;

/// A setting that breaks a protocol rule: which one, and why. `shared::settings` turns
/// it into the error every service's settings validation reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting `{key}`: {reason}")]
pub struct InvalidSetting {
    pub key: String,
    pub reason: String,
}

impl InvalidSetting {
    pub fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod testing {
    /// A fresh P-256 key, PKCS#8.
    #[allow(clippy::expect_used)]
    pub fn p256_pkcs8() -> Vec<u8> {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &aws_lc_rs::rand::SystemRandom::new())
                .expect("key");
        pkcs8.as_ref().to_vec()
    }

    /// Seconds since the Unix epoch.
    pub fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default()
    }
}
