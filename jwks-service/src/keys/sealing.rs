//! Private keys at rest: AES-256-GCM under a key-encryption key (KEK) read from a secret
//! file. Each record names the KEK that sealed it, so the KEK can be rotated: the new one
//! seals, the previous ones still open.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use protocol::secrets::{Secret, random_bytes};
use serde::{Deserialize, Serialize};
use shared::settings::SettingsError;

/// A sealed secret as stored: which KEK, the nonce, ciphertext with tag (base64).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    pub kek_id: String,
    nonce: String,
    ciphertext: String,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealed")
            .field("kek_id", &self.kek_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("sealed with key-encryption key `{0}`, which is not configured")]
    UnknownKek(String),
    #[error("the sealed record does not open (tampered, or another KEK with the same id)")]
    Corrupt,
}

/// One key-encryption key.
pub struct Kek {
    id: String,
    key: LessSafeKey,
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kek").field("id", &self.id).finish_non_exhaustive()
    }
}

impl Kek {
    /// A KEK from its secret: 32 bytes, given base64-encoded (`openssl rand -base64 32`).
    pub fn from_secret(secret: &Secret, setting: &str) -> Result<Self, SettingsError> {
        let bytes = STANDARD
            .decode(secret.expose().trim_ascii())
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or_else(|| SettingsError::invalid(setting, "must be 32 random bytes, base64-encoded"))?;
        Ok(Self::from_bytes(&bytes))
    }

    /// A random KEK that lives as long as the process (development only).
    pub fn ephemeral() -> Self {
        Self::from_bytes(&random_bytes(32))
    }

    fn from_bytes(bytes: &[u8]) -> Self {
        let id = shared::store::hashed_id(&["agentauth-kek-id", &STANDARD.encode(bytes)])[..16].to_owned();
        #[allow(clippy::expect_used)]
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, bytes).expect("32 bytes is an AES-256 key"));
        Self { id, key }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Seals `plaintext`, bound to `context` (the key's kid) so a record cannot be moved
    /// to another key's slot.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Sealed {
        let nonce_bytes: [u8; NONCE_LEN] = random_nonce();
        let mut in_out = plaintext.to_vec();
        #[allow(clippy::expect_used)]
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(context),
                &mut in_out,
            )
            .expect("AES-GCM sealing of a small buffer cannot fail");
        Sealed {
            kek_id: self.id.clone(),
            nonce: STANDARD.encode(nonce_bytes),
            ciphertext: STANDARD.encode(in_out),
        }
    }

    fn open(&self, context: &str, sealed: &Sealed) -> Result<Vec<u8>, SealError> {
        let nonce: [u8; NONCE_LEN] = STANDARD
            .decode(&sealed.nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or(SealError::Corrupt)?;
        let mut in_out = STANDARD.decode(&sealed.ciphertext).map_err(|_| SealError::Corrupt)?;
        let plaintext = self
            .key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(context), &mut in_out)
            .map_err(|_| SealError::Corrupt)?;
        Ok(plaintext.to_vec())
    }
}

fn random_nonce() -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&random_bytes(NONCE_LEN));
    nonce
}

/// The current KEK (seals) and previous ones (still open what they sealed).
#[derive(Debug)]
pub struct KekRing {
    pub current: Kek,
    pub previous: Vec<Kek>,
}

impl KekRing {
    pub fn open(&self, context: &str, sealed: &Sealed) -> Result<Vec<u8>, SealError> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|kek| kek.id == sealed.kek_id)
            .ok_or_else(|| SealError::UnknownKek(sealed.kek_id.clone()))?
            .open(context, sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kek(byte: u8) -> Kek {
        Kek::from_bytes(&[byte; 32])
    }

    #[test]
    fn sealed_secrets_open_only_with_their_kek_and_context() {
        let ring = KekRing {
            current: kek(1),
            previous: vec![kek(2)],
        };
        let sealed = ring.current.seal("kid-a", b"private key");
        assert_eq!(ring.open("kid-a", &sealed).expect("opens"), b"private key");
        assert_eq!(ring.open("kid-b", &sealed), Err(SealError::Corrupt), "bound to its kid");
        let old = kek(2).seal("kid-a", b"older");
        assert_eq!(ring.open("kid-a", &old).expect("previous KEK opens"), b"older");
        let foreign = kek(3).seal("kid-a", b"x");
        assert!(matches!(ring.open("kid-a", &foreign), Err(SealError::UnknownKek(_))));
    }

    #[test]
    fn kek_settings_must_be_32_base64_bytes() {
        let good = Secret::new(STANDARD.encode([7u8; 32]).into_bytes());
        assert_eq!(Kek::from_secret(&good, "keys.kek").expect("valid").id(), kek(7).id());
        let short = Secret::new(STANDARD.encode([7u8; 16]).into_bytes());
        let err = Kek::from_secret(&short, "keys.kek").expect_err("too short");
        assert!(err.to_string().contains("keys.kek"));
    }

    #[test]
    fn ciphertext_does_not_contain_the_plaintext() {
        let sealed = kek(1).seal("kid", b"-----PRIVATE-----");
        let stored = serde_json::to_string(&sealed).expect("json");
        assert!(!stored.contains("PRIVATE"));
        assert!(!format!("{sealed:?}").contains(&sealed.ciphertext));
    }
}
