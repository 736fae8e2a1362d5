use std::fmt;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header};
use serde::Serialize;

use super::JoseError;

enum KeyPair {
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A private signing key, parsed once when it arrives from jwks-service.
pub struct SigningKey {
    kid: String,
    alg: Algorithm,
    pair: KeyPair,
    rng: SystemRandom,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("private_key", &"[redacted]")
            .finish()
    }
}

impl SigningKey {
    pub fn from_pkcs8(kid: &str, alg: Algorithm, der: &[u8]) -> Result<Self, JoseError> {
        let bad = || JoseError::BadPrivateKey {
            kid: kid.to_owned(),
            alg: format!("{alg:?}"),
        };
        let pair = match alg {
            Algorithm::ES256 => {
                KeyPair::Ec(EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der).map_err(|_| bad())?)
            }
            Algorithm::EdDSA => KeyPair::Ed(Ed25519KeyPair::from_pkcs8(der).map_err(|_| bad())?),
            other => return Err(JoseError::UnsupportedAlgorithm(format!("{other:?}"))),
        };
        Ok(Self {
            kid: kid.to_owned(),
            alg,
            pair,
            rng: SystemRandom::new(),
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Compact JWS (RFC 7515 §7.1) of `claims` with header `{alg, typ, kid}`.
    pub fn sign<C: Serialize>(&self, typ: &str, claims: &C) -> Result<String, JoseError> {
        let mut header = Header::new(self.alg);
        header.typ = Some(typ.to_owned());
        header.kid = Some(self.kid.clone());
        let header = serde_json::to_vec(&header).map_err(|_| JoseError::SigningFailed)?;
        let claims = serde_json::to_vec(claims).map_err(|_| JoseError::SigningFailed)?;
        let mut jws = URL_SAFE_NO_PAD.encode(header);
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(claims, &mut jws);
        let signature = match &self.pair {
            KeyPair::Ec(pair) => pair
                .sign(&self.rng, jws.as_bytes())
                .map_err(|_| JoseError::SigningFailed)?
                .as_ref()
                .to_vec(),
            KeyPair::Ed(pair) => pair.sign(jws.as_bytes()).as_ref().to_vec(),
        };
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut jws);
        Ok(jws)
    }
}
