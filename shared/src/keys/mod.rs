//! The plumbing around keys; their rules are `protocol::jose`'s.
//!
//! - [`watch`]: the task that keeps a `KeyRing` current from jwks-service's `KeyService`
//!   stream, and [`key_ring`], a ring from the stream's message.
//! - [`remote`]: key sets others publish (providers, clients), fetched within bounds,
//!   cached, SSRF-safe where the URL is someone else's.
//! - [`discovery`]: an operator-configured issuer's OpenID Connect discovery document.

pub mod discovery;
pub mod remote;
pub mod watch;

use proto::keys::v1::KeySet;
use protocol::jose::{ActiveKey, JoseError, KeyRing, PublishedKey};

/// The key ring jwks-service's `KeySet` describes.
pub fn key_ring(set: &KeySet) -> Result<KeyRing, JoseError> {
    let active = set.active.as_ref().map(|active| ActiveKey {
        kid: &active.kid,
        alg: &active.alg,
        private_key_pkcs8: &active.private_key_pkcs8,
        not_after: active.not_after,
    });
    let published = set.published.iter().map(|public| PublishedKey {
        kid: &public.kid,
        alg: &public.alg,
        jwk_json: &public.jwk_json,
    });
    KeyRing::new(active, published)
}
