//! Secrets handed out with the id of the registration they open: `<registration id>.<secret>`.
//! The id locates the record in one read; the secret (≥ 256 bits) proves possession and is
//! stored only as a keyed hash.

use std::fmt;

use protocol::secrets::SecretHasher;

use super::record::RegistrationId;

/// Hash context of claim tokens, so their hashes never verify as another secret's.
pub const CLAIM_TOKEN_CONTEXT: &str = "claim_token";

#[derive(Clone)]
pub struct SecretHandle {
    pub registration_id: RegistrationId,
    secret: String,
}

impl fmt::Debug for SecretHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretHandle({}.[redacted])", self.registration_id)
    }
}

impl SecretHandle {
    pub fn new(registration_id: &RegistrationId, secret: &str) -> Self {
        Self {
            registration_id: registration_id.clone(),
            secret: secret.to_owned(),
        }
    }

    /// A fresh handle for `registration_id` with a 256-bit secret.
    pub fn generate(registration_id: &RegistrationId) -> Self {
        Self::new(registration_id, &protocol::secrets::random_token(32))
    }

    pub fn parse(value: &str) -> Option<Self> {
        let (id, secret) = value.split_once('.')?;
        let registration_id = RegistrationId::parse(id).ok()?;
        (secret.len() >= 32).then(|| Self::new(&registration_id, secret))
    }

    pub fn hash(&self, hasher: &SecretHasher, context: &str) -> String {
        hasher.hash(context, &self.secret)
    }

    /// Constant-time check against a stored hash; a dropped handle (`None`) never matches.
    pub fn matches(&self, hasher: &SecretHasher, context: &str, stored: Option<&str>) -> bool {
        stored.is_some_and(|stored| hasher.verify(context, &self.secret, stored))
    }
}

impl fmt::Display for SecretHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.registration_id, self.secret)
    }
}
