//! The JWS algorithms we verify from others, by the name a header carries, and the rules
//! that tie a published key to the algorithms it may verify.
//!
//! jsonwebtoken knows the polymorphic `EdDSA`. RFC 9864 §2.2 registers the
//! fully-specified `Ed25519` (EdDSA on the Ed25519 curve only), which oauth4webapi, jose
//! and dpop send and which deprecates `EdDSA`. For an Ed25519 key they are one algorithm:
//! both verify with jsonwebtoken's EdDSA, and a key declaring either verifies both.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
use jsonwebtoken::{Algorithm, AlgorithmFamily};
use serde_json::Value;

/// RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used with these algorithms."
pub const MIN_RSA_BITS: usize = 2048;

/// An asymmetric JWS `alg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JwsAlg {
    /// Every asymmetric algorithm jsonwebtoken implements, by its own name.
    Jwt(Algorithm),
    /// RFC 9864 `Ed25519`.
    Ed25519,
}

impl JwsAlg {
    pub const ED25519: &str = "Ed25519";

    /// An `alg` name; `None` for `none`, HMAC and names nobody registered.
    pub fn parse(name: &str) -> Option<Self> {
        if name == Self::ED25519 {
            return Some(Self::Ed25519);
        }
        let alg: Algorithm = name.parse().ok()?;
        (alg.family() != AlgorithmFamily::Hmac).then_some(Self::Jwt(alg))
    }

    /// The algorithm jsonwebtoken verifies it with.
    pub fn crypto(self) -> Algorithm {
        match self {
            Self::Jwt(alg) => alg,
            Self::Ed25519 => Algorithm::EdDSA,
        }
    }
}

/// Why a published key cannot verify anything here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRefusal {
    #[error("RSA keys must be at least {MIN_RSA_BITS} bits (RFC 7518 section 3.3)")]
    RsaTooSmall,
    #[error("its `alg` does not fit its key type")]
    AlgDoesNotFit,
    #[error("it is not a P-256, P-384, Ed25519 or RSA signing key")]
    Unsupported,
}

/// The algorithms a public JWK verifies: its `alg` when it declares one (which must fit
/// the key), or every algorithm its type implies. An RSA key without `alg` verifies both
/// RS256 and PS256 (RFC 7517 §4.4 makes `alg` optional, and PyJWT and jose leave it out).
pub fn key_algorithms(declared: Option<&str>, jwk: &Jwk) -> Result<Vec<JwsAlg>, KeyRefusal> {
    let declared = match declared {
        Some(name) => Some(JwsAlg::parse(name).ok_or(KeyRefusal::AlgDoesNotFit)?),
        None => None,
    };
    let implied: Vec<JwsAlg> = match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => vec![JwsAlg::Jwt(Algorithm::ES256)],
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P384 => vec![JwsAlg::Jwt(Algorithm::ES384)],
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            vec![JwsAlg::Ed25519, JwsAlg::Jwt(Algorithm::EdDSA)]
        }
        AlgorithmParameters::RSA(rsa) => {
            if rsa_bits(&rsa.n) < MIN_RSA_BITS {
                return Err(KeyRefusal::RsaTooSmall);
            }
            match declared {
                Some(alg) if alg.crypto().family() == AlgorithmFamily::Rsa => return Ok(vec![alg]),
                Some(_) => return Err(KeyRefusal::AlgDoesNotFit),
                None => vec![JwsAlg::Jwt(Algorithm::RS256), JwsAlg::Jwt(Algorithm::PS256)],
            }
        }
        _ => return Err(KeyRefusal::Unsupported),
    };
    match declared {
        None => Ok(implied),
        Some(alg) if implied.contains(&alg) => Ok(implied),
        Some(_) => Err(KeyRefusal::AlgDoesNotFit),
    }
}

/// A JWK as JSON, made readable by jsonwebtoken: its RFC 9864 `alg: "Ed25519"` (which
/// jsonwebtoken's `Jwk` cannot hold) becomes `EdDSA`, the same algorithm for that key.
/// Returns the key and the `alg` it declared.
pub fn parse_jwk(raw: &Value) -> Option<(Jwk, Option<String>)> {
    let declared = raw.get("alg").and_then(Value::as_str).map(str::to_owned);
    let mut readable = raw.clone();
    if declared.as_deref() == Some(JwsAlg::ED25519)
        && let Some(members) = readable.as_object_mut()
    {
        members.insert("alg".into(), Value::from("EdDSA"));
    }
    Some((serde_json::from_value(readable).ok()?, declared))
}

/// The size of an RSA modulus given as base64url (RFC 7518 §6.3.1.1), in bits.
fn rsa_bits(n: &str) -> usize {
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(n.trim_end_matches('=')) else {
        return 0;
    };
    let significant: Vec<u8> = bytes.into_iter().skip_while(|b| *b == 0).collect();
    significant
        .first()
        .map_or(0, |top| significant.len() * 8 - top.leading_zeros() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rsa(bits: usize, alg: Option<&str>) -> Value {
        let mut n = vec![0xff_u8; bits / 8];
        n.insert(0, 0);
        let mut key = json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode(n), "e": "AQAB"});
        if let Some(alg) = alg {
            key["alg"] = json!(alg);
        }
        key
    }

    fn algs(raw: &Value) -> Result<Vec<JwsAlg>, KeyRefusal> {
        let (jwk, declared) = parse_jwk(raw).expect("a JWK");
        key_algorithms(declared.as_deref(), &jwk)
    }

    #[test]
    fn an_rsa_key_without_alg_verifies_both_rsa_algorithms_and_with_one_only_that() {
        let rs = JwsAlg::Jwt(Algorithm::RS256);
        let ps = JwsAlg::Jwt(Algorithm::PS256);
        assert_eq!(algs(&rsa(2048, None)), Ok(vec![rs, ps]));
        assert_eq!(algs(&rsa(2048, Some("PS256"))), Ok(vec![ps]));
        assert_eq!(algs(&rsa(3072, Some("RS256"))), Ok(vec![rs]));
        assert_eq!(algs(&rsa(2048, Some("ES256"))), Err(KeyRefusal::AlgDoesNotFit));
    }

    #[test]
    fn rsa_keys_under_2048_bits_are_refused() {
        assert_eq!(algs(&rsa(1024, None)), Err(KeyRefusal::RsaTooSmall));
        assert_eq!(algs(&rsa(2040, Some("RS256"))), Err(KeyRefusal::RsaTooSmall));
    }

    #[test]
    fn ed25519_keys_verify_both_names_whichever_they_declare() {
        let x = URL_SAFE_NO_PAD.encode([7u8; 32]);
        for declared in [None, Some("EdDSA"), Some("Ed25519")] {
            let mut key = json!({"kty": "OKP", "crv": "Ed25519", "x": x});
            if let Some(alg) = declared {
                key["alg"] = json!(alg);
            }
            assert_eq!(
                algs(&key),
                Ok(vec![JwsAlg::Ed25519, JwsAlg::Jwt(Algorithm::EdDSA)]),
                "{declared:?}"
            );
        }
        let p256 = json!({"kty": "EC", "crv": "P-256", "alg": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode([1u8; 32]), "y": URL_SAFE_NO_PAD.encode([2u8; 32])});
        assert_eq!(algs(&p256), Err(KeyRefusal::AlgDoesNotFit));
    }

    #[test]
    fn names_parse_to_asymmetric_algorithms_only() {
        assert_eq!(JwsAlg::parse("Ed25519"), Some(JwsAlg::Ed25519));
        assert_eq!(JwsAlg::parse("EdDSA"), Some(JwsAlg::Jwt(Algorithm::EdDSA)));
        assert_eq!(JwsAlg::parse("HS256"), None);
        assert_eq!(JwsAlg::parse("none"), None);
        assert_eq!(JwsAlg::Ed25519.crypto(), Algorithm::EdDSA);
    }
}
