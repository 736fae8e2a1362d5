//! Key sets others publish (trusted providers, `private_key_jwt` clients), parsed: the
//! usable signing keys by `kid`, and why each unusable one was left out. Fetching and
//! caching them is plumbing (`shared::keys::remote`).

use std::collections::HashMap;
use std::fmt;

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::PublicKeyUse;
use serde_json::Value;

use super::alg::{JwsAlg, KeyRefusal};

/// A key to verify with: the algorithms come from the key, never from a token's header
/// (RFC 8725 §3.1); a header's `alg` must be one of them.
#[derive(Clone)]
pub struct VerifyingKey {
    pub algs: Vec<JwsAlg>,
    pub key: DecodingKey,
}

impl VerifyingKey {
    /// Whether a token whose header names `alg` may be verified with this key.
    pub fn accepts(&self, alg: JwsAlg) -> bool {
        self.algs.contains(&alg)
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("algs", &self.algs)
            .finish_non_exhaustive()
    }
}

/// Why no key could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteKeyError {
    #[error("the key set publishes no key `{0}`")]
    UnknownKey(String),
    #[error("the key `{0}` cannot be used: {1}")]
    Refused(String, KeyRefusal),
    #[error("the key set cannot be fetched: {0}")]
    Unavailable(String),
    #[error("the key set URL is not allowed: {0}")]
    Forbidden(String),
}

/// Signing keys of one set by `kid` (`""` for a key without one).
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: HashMap<String, VerifyingKey>,
    /// Keys left out, with the reason, so a token naming one is told why.
    refused: HashMap<String, KeyRefusal>,
}

impl KeySet {
    /// The key `kid` names, or with no `kid`, the set's only key.
    pub fn get(&self, kid: Option<&str>) -> Option<&VerifyingKey> {
        match kid {
            Some(kid) => self.keys.get(kid),
            None if self.keys.len() == 1 => self.keys.values().next(),
            None => None,
        }
    }

    /// Why the key `kid` names was left out of the set, if it was.
    pub fn refusal(&self, kid: Option<&str>) -> Option<&KeyRefusal> {
        self.refused.get(kid.unwrap_or(""))
    }

    /// Every key left out, by kid, with why.
    pub fn refusals(&self) -> impl Iterator<Item = (&str, &KeyRefusal)> {
        self.refused.iter().map(|(kid, refusal)| (kid.as_str(), refusal))
    }

    /// The key `kid` names, or why there is none.
    pub fn lookup(&self, kid: Option<&str>) -> Result<&VerifyingKey, RemoteKeyError> {
        self.get(kid).ok_or_else(|| {
            let name = kid.unwrap_or("").to_owned();
            match self.refusal(kid) {
                Some(refusal) => RemoteKeyError::Refused(name, refusal.clone()),
                None => RemoteKeyError::UnknownKey(name),
            }
        })
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// A JWK Set document's usable signing keys; symmetric and unusable keys are left out
    /// (and remembered, with why, in [`Self::refusal`]).
    pub fn parse(json: &[u8]) -> Result<Self, String> {
        let set: Value = serde_json::from_slice(json).map_err(|_| "not a JWK set".to_owned())?;
        verifying_keys(&set)
    }
}

/// The signing keys of a set by kid, and why each key we cannot use was left out.
fn verifying_keys(set: &Value) -> Result<KeySet, String> {
    let entries = set
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| "not a JWK set".to_owned())?;
    let (mut keys, mut refused) = (HashMap::new(), HashMap::new());
    for raw in entries {
        let Some((jwk, declared)) = super::alg::parse_jwk(raw) else {
            continue;
        };
        let kid = jwk.common.key_id.clone().unwrap_or_default();
        // A SPIFFE bundle marks the keys of JWT-SVIDs `jwt-svid` (SPIFFE Trust Domain
        // and Bundle §4.2.2); its `x509-svid` keys, like `enc` keys, verify nothing here.
        let signs = |u: &PublicKeyUse| match u {
            PublicKeyUse::Signature => true,
            PublicKeyUse::Other(other) => other == "jwt-svid",
            PublicKeyUse::Encryption => false,
        };
        if jwk.common.public_key_use.as_ref().is_some_and(|u| !signs(u)) {
            continue;
        }
        let usable = super::alg::key_algorithms(declared.as_deref(), &jwk)
            .and_then(|algs| Ok((algs, DecodingKey::from_jwk(&jwk).map_err(|_| KeyRefusal::Unsupported)?)));
        match usable {
            Ok((algs, key)) => {
                keys.entry(kid).or_insert(VerifyingKey { algs, key });
            }
            Err(refusal) => {
                refused.insert(kid, refusal);
            }
        }
    }
    Ok(KeySet { keys, refused })
}
