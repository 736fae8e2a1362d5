//! Generating keys with rcgen and describing them as RFC 7517 JWKs whose `kid` is the
//! RFC 7638 thumbprint.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters, EllipticCurveKeyType, Jwk,
    KeyAlgorithm, OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse, ThumbprintHash,
};
use protocol::jose::Algorithm;
use serde::{Deserialize, Serialize};

use super::sealing::{Kek, KekRing, SealError, Sealed};

/// A key as stored: the public half as its JWK, the private half (PKCS#8 DER) sealed
/// under the key-encryption key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredKey {
    pub kid: String,
    /// JOSE name: `ES256` or `EdDSA`.
    pub alg: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix milliseconds from which it signs; its state derives from this.
    #[serde(default)]
    pub activate_at_ms: i64,
    pub public_jwk: serde_json::Value,
    sealed_private_key: Sealed,
}

impl fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("created_at", &self.created_at)
            .field("sealed_private_key", &self.sealed_private_key)
            .finish()
    }
}

impl StoredKey {
    /// The private key's PKCS#8 DER, opened with the KEK that sealed it.
    pub fn private_key_der(&self, keks: &KekRing) -> Result<Vec<u8>, SealError> {
        keks.open(&self.kid, &self.sealed_private_key)
    }

    /// The same key sealed under `keks.current` (a KEK rotation).
    pub fn rewrapped(&self, keks: &KekRing) -> Result<Self, SealError> {
        let der = self.private_key_der(keks)?;
        Ok(Self {
            sealed_private_key: keks.current.seal(&self.kid, &der),
            ..self.clone()
        })
    }

    /// Which key-encryption key sealed the private half.
    pub fn kek_id(&self) -> &str {
        &self.sealed_private_key.kek_id
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyGenerationError {
    #[error("unsupported signing algorithm {0:?}")]
    Unsupported(Algorithm),
    #[error("key generation failed: {0}")]
    Failed(String),
}

/// A fresh key pair for `alg`, its private half sealed under `kek`.
pub fn generate(alg: Algorithm, now: i64, kek: &Kek) -> Result<StoredKey, KeyGenerationError> {
    let failed = |e: &dyn fmt::Display| KeyGenerationError::Failed(e.to_string());
    let (rcgen_alg, alg_name) = match alg {
        Algorithm::ES256 => (&rcgen::PKCS_ECDSA_P256_SHA256, "ES256"),
        Algorithm::EdDSA => (&rcgen::PKCS_ED25519, "EdDSA"),
        other => return Err(KeyGenerationError::Unsupported(other)),
    };
    let pair = rcgen::KeyPair::generate_for(rcgen_alg).map_err(|e| failed(&e))?;
    let mut jwk = public_jwk(alg, pair.public_key_raw())?;
    let kid = jwk.thumbprint(ThumbprintHash::SHA256).map_err(|e| failed(&e))?;
    jwk.common.key_id = Some(kid.clone());
    let jwk_kid = kid.clone();
    Ok(StoredKey {
        kid,
        alg: alg_name.to_owned(),
        created_at: now,
        activate_at_ms: now * 1000,
        public_jwk: serde_json::to_value(&jwk).map_err(|e| failed(&e))?,
        sealed_private_key: kek.seal(&jwk_kid, &pair.serialize_der()),
    })
}

/// The public JWK built from raw public key bytes (an uncompressed P-256 point, or the
/// 32 Ed25519 bytes). Building the OKP JWK from the raw key avoids jsonwebtoken's PKCS#8
/// v2 limitation (BUILD-NOTES).
fn public_jwk(alg: Algorithm, raw: &[u8]) -> Result<Jwk, KeyGenerationError> {
    let algorithm = match alg {
        Algorithm::ES256 => {
            let point = raw
                .strip_prefix(&[0x04])
                .filter(|p| p.len() == 64)
                .ok_or_else(|| KeyGenerationError::Failed("P-256 public key is not an uncompressed point".into()))?;
            let (x, y) = point.split_at(32);
            AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
                key_type: EllipticCurveKeyType::EC,
                curve: EllipticCurve::P256,
                x: URL_SAFE_NO_PAD.encode(x),
                y: URL_SAFE_NO_PAD.encode(y),
            })
        }
        Algorithm::EdDSA => AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
            key_type: OctetKeyPairType::OctetKeyPair,
            curve: EllipticCurve::Ed25519,
            x: URL_SAFE_NO_PAD.encode(raw),
        }),
        other => return Err(KeyGenerationError::Unsupported(other)),
    };
    let key_algorithm = match alg {
        Algorithm::ES256 => KeyAlgorithm::ES256,
        _ => KeyAlgorithm::EdDSA,
    };
    Ok(Jwk {
        common: CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_algorithm: Some(key_algorithm),
            ..CommonParameters::default()
        },
        algorithm,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::jose::{Expectations, SigningKey};

    fn keks() -> KekRing {
        KekRing {
            current: Kek::ephemeral(),
            previous: Vec::new(),
        }
    }

    #[test]
    fn es256_keys_publish_a_complete_jwk_whose_kid_is_the_thumbprint() {
        let key = generate(Algorithm::ES256, 0, &keks().current).expect("generate");
        let jwk = &key.public_jwk;
        for field in ["kty", "crv", "x", "y", "kid", "alg", "use"] {
            assert!(jwk.get(field).is_some(), "missing {field} in {jwk}");
        }
        assert_eq!(jwk["kty"], "EC");
        assert_eq!(jwk["crv"], "P-256");
        assert_eq!(jwk["kid"], key.kid.as_str());
        let parsed: Jwk = serde_json::from_value(jwk.clone()).expect("jwk");
        assert_eq!(parsed.thumbprint(ThumbprintHash::SHA256).expect("thumbprint"), key.kid);
        assert_eq!(key.kid.len(), 43, "base64url of a SHA-256 digest");
    }

    #[test]
    fn generated_keys_sign_tokens_their_jwk_verifies() {
        let keks = keks();
        for alg in [Algorithm::ES256, Algorithm::EdDSA] {
            let key = generate(alg, 0, &keks.current).expect("generate");
            let der = key.private_key_der(&keks).expect("opens");
            let signer = SigningKey::from_pkcs8(&key.kid, alg, &der).expect("parse");
            let now = shared::time::unix_now();
            let claims = serde_json::json!({"iss": "https://as.test", "sub": "s", "iat": now, "exp": now + 60});
            let token = signer.sign("at+jwt", &claims).expect("sign");
            let ring = shared::keys::key_ring(&proto::keys::v1::KeySet {
                active: None,
                published: vec![proto::keys::v1::PublicKey {
                    kid: key.kid.clone(),
                    alg: key.alg.clone(),
                    jwk_json: key.public_jwk.to_string(),
                }],
            })
            .expect("ring");
            let expect = Expectations::new("at+jwt", "https://as.test", &[], 0);
            ring.verify::<serde_json::Value>(&token, &expect).expect("verifies");
        }
    }

    #[test]
    fn neither_debug_nor_the_stored_record_shows_the_private_key() {
        let keks = keks();
        let key = generate(Algorithm::ES256, 0, &keks.current).expect("generate");
        let der = key.private_key_der(&keks).expect("opens");
        let der_b64 = base64::engine::general_purpose::STANDARD.encode(&der);
        let stored = serde_json::to_string(&key).expect("json");
        assert!(!stored.contains(&der_b64[..40]), "stored sealed, not in clear");
        assert!(!format!("{key:?}").contains(&der_b64[..40]));
        let other = KekRing {
            current: Kek::ephemeral(),
            previous: Vec::new(),
        };
        assert!(key.private_key_der(&other).is_err(), "unreadable without its KEK");
    }
}
