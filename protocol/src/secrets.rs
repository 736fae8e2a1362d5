//! Secrets we generate (≥ 128 bits from the OS CSPRNG), their keyed hashes
//! (HMAC-SHA-256 under a server-side pepper, DESIGN §3) and constant-time comparison.

use std::fmt;

use aws_lc_rs::{constant_time, hmac, rand};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Secret bytes whose `Debug` never prints them.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// `len` random bytes from the OS CSPRNG.
    pub fn random(len: usize) -> Self {
        Self(random_bytes(len))
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    // The OS RNG failing is not recoverable for an authorization server.
    #[allow(clippy::expect_used)]
    rand::fill(&mut out).expect("operating system CSPRNG unavailable");
    out
}

/// A URL-safe random token carrying `bytes * 8` bits of entropy.
/// A uniformly random 6-digit code a human reads or types, from the OS CSPRNG
/// (rejection sampling: no modulo bias).
pub fn six_digit_code() -> String {
    const RANGE: u32 = 1_000_000;
    const LIMIT: u32 = u32::MAX - (u32::MAX % RANGE);
    loop {
        let bytes = random_bytes(4);
        let n = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        if n < LIMIT {
            return format!("{:06}", n % RANGE);
        }
    }
}

/// Whether two secrets (tokens a client echoes back) are equal, in constant time.
pub fn same_secret(a: &str, b: &str) -> bool {
    constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

pub fn random_token(bytes: usize) -> String {
    URL_SAFE_NO_PAD.encode(random_bytes(bytes))
}

/// Keyed hash for stored secrets (claim tokens, client secrets): HMAC-SHA-256 under the
/// pepper. Secrets are high-entropy, so a fast keyed hash suffices; the pepper makes a
/// leaked store useless without the pepper file.
#[derive(Clone)]
pub struct SecretHasher {
    key: hmac::Key,
}

impl SecretHasher {
    pub fn new(pepper: &Secret) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, pepper.expose()),
        }
    }

    /// The stored form: base64url of the HMAC tag. `context` separates uses so a hash of
    /// one kind of secret never verifies as another.
    pub fn hash(&self, context: &str, secret: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.tag(context, secret))
    }

    /// The raw HMAC tag of `secret` under `context` (32 bytes): for identifiers derived
    /// from a value that must not be readable from them.
    pub fn tag(&self, context: &str, secret: &str) -> Vec<u8> {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(context.as_bytes());
        ctx.update(&[0]);
        ctx.update(secret.as_bytes());
        ctx.sign().as_ref().to_vec()
    }

    /// Constant-time check of `secret` against a stored hash.
    pub fn verify(&self, context: &str, secret: &str, stored: &str) -> bool {
        let computed = self.hash(context, secret);
        constant_time::verify_slices_are_equal(computed.as_bytes(), stored.as_bytes()).is_ok()
    }
}

impl fmt::Debug for SecretHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHasher([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_with_the_same_pepper_and_context() {
        let hasher = SecretHasher::new(&Secret::new(b"pepper-one".to_vec()));
        let other = SecretHasher::new(&Secret::new(b"pepper-two".to_vec()));
        let stored = hasher.hash("client_secret", "s3cret");
        assert!(hasher.verify("client_secret", "s3cret", &stored));
        assert!(!hasher.verify("client_secret", "s3cret!", &stored));
        assert!(!hasher.verify("claim_token", "s3cret", &stored));
        assert!(!other.verify("client_secret", "s3cret", &stored));
    }

    #[test]
    fn random_tokens_are_long_and_distinct() {
        let a = random_token(32);
        let b = random_token(32);
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }
}
