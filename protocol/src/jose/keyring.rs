use std::collections::HashMap;
use std::sync::Arc;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::de::DeserializeOwned;

use super::{JoseError, SigningKey, parse_algorithm};

struct VerifyingKey {
    alg: Algorithm,
    key: DecodingKey,
}

/// What jwks-service last sent: the key to sign with and the keys to verify with. Empty
/// until the first message arrives.
#[derive(Default)]
pub struct KeyRing {
    signer: Option<Arc<SigningKey>>,
    /// Unix seconds past which the signing key is retired (0: unknown, never).
    signer_not_after: i64,
    verifiers: HashMap<String, VerifyingKey>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("signer", &self.signer)
            .field("verifiers", &self.verifiers.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// What a token must carry besides a valid signature, with the checks it makes built
/// once (one per signing algorithm we use), not per token.
#[derive(Debug, Clone)]
pub struct Expectations {
    /// Required header `typ` (compared case-insensitively, RFC 7515 §4.1.9).
    typ: &'static str,
    validations: Vec<(Algorithm, Validation)>,
}

impl Expectations {
    /// `aud` must name one of `audiences` (empty: `aud` is not checked); `leeway_secs`
    /// is the clock skew allowed on `exp`, `nbf` and `iat`.
    pub fn new(typ: &'static str, issuer: &str, audiences: &[String], leeway_secs: u64) -> Self {
        let validations = super::ALGORITHMS
            .iter()
            .map(|&alg| {
                let mut validation = Validation::new(alg);
                validation.leeway = leeway_secs;
                validation.validate_nbf = true;
                validation.set_issuer(&[issuer]);
                if audiences.is_empty() {
                    validation.validate_aud = false;
                } else {
                    validation.set_audience(audiences);
                }
                validation.set_required_spec_claims(&["exp", "iat", "iss", "sub"]);
                (alg, validation)
            })
            .collect();
        Self { typ, validations }
    }

    fn validation(&self, alg: Algorithm) -> Option<&Validation> {
        self.validations.iter().find(|(a, _)| *a == alg).map(|(_, v)| v)
    }
}

#[derive(Debug)]
pub struct Verified<C> {
    pub header: Header,
    pub claims: C,
}

/// Why a token failed verification; each maps to one wire error at the edge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("token is not a well-formed signed JWT")]
    Malformed,
    #[error("token is signed with a key this server does not publish")]
    UnknownKey,
    #[error("token algorithm does not match its key")]
    WrongAlgorithm,
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token has the wrong type")]
    WrongType,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token was issued by another issuer")]
    WrongIssuer,
    #[error("token is meant for another audience")]
    WrongAudience,
    #[error("token lacks the `{0}` claim")]
    MissingClaim(String),
    #[error("token names critical header parameters this server does not understand")]
    UnsupportedCritical,
}

/// The active signing key, as jwks-service sends it.
#[derive(Debug, Clone, Copy)]
pub struct ActiveKey<'a> {
    pub kid: &'a str,
    pub alg: &'a str,
    pub private_key_pkcs8: &'a [u8],
    /// When it stops signing (Unix seconds); 0: not known.
    pub not_after: i64,
}

/// A published verification key, as jwks-service sends it.
#[derive(Debug, Clone, Copy)]
pub struct PublishedKey<'a> {
    pub kid: &'a str,
    pub alg: &'a str,
    pub jwk_json: &'a str,
}

impl KeyRing {
    /// The ring jwks-service describes: its active signing key, if any, and every key
    /// it publishes for verification.
    pub fn new<'a>(
        active: Option<ActiveKey<'a>>,
        published: impl IntoIterator<Item = PublishedKey<'a>>,
    ) -> Result<Self, JoseError> {
        let signer_not_after = active.as_ref().map(|a| a.not_after).unwrap_or_default();
        let signer = match active {
            Some(active) => Some(Arc::new(SigningKey::from_pkcs8(
                active.kid,
                parse_algorithm(active.alg)?,
                active.private_key_pkcs8,
            )?)),
            None => None,
        };
        let mut verifiers = HashMap::new();
        for public in published {
            let bad = |reason: String| JoseError::BadPublicKey {
                kid: public.kid.to_owned(),
                reason,
            };
            let jwk: Jwk = serde_json::from_str(public.jwk_json).map_err(|e| bad(e.to_string()))?;
            let key = DecodingKey::from_jwk(&jwk).map_err(|e| bad(e.to_string()))?;
            let alg = parse_algorithm(public.alg)?;
            verifiers.insert(public.kid.to_owned(), VerifyingKey { alg, key });
        }
        Ok(Self {
            signer,
            signer_not_after,
            verifiers,
        })
    }

    pub fn signer(&self) -> Option<&Arc<SigningKey>> {
        self.signer.as_ref()
    }

    /// The key to sign with at `now`: none once it is past its retirement (verifiers
    /// drop a retired key, so what it signed then would not verify for long).
    pub fn signer_at(&self, now: i64) -> Option<&Arc<SigningKey>> {
        self.signer.as_ref().filter(|_| !self.signer_retired(now))
    }

    /// Whether the signing key is past its retirement (a signer cut off from jwks-service
    /// keeps signing until then).
    pub fn signer_retired(&self, now: i64) -> bool {
        self.signer_not_after > 0 && now >= self.signer_not_after
    }

    pub fn published_kids(&self) -> impl Iterator<Item = &str> {
        self.verifiers.keys().map(String::as_str)
    }

    /// Verifies a compact JWS signed by one of our published keys: exactly one signature
    /// check, with `alg` taken from the key (never trusted from the header alone).
    pub fn verify<C: DeserializeOwned>(&self, token: &str, expect: &Expectations) -> Result<Verified<C>, VerifyError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Malformed)?;
        // RFC 7515 §4.1.11: we implement no extension, so any `crit` (even an empty list,
        // which the RFC forbids) makes the token unacceptable.
        if header.crit.is_some() {
            return Err(VerifyError::UnsupportedCritical);
        }
        let kid = header.kid.as_deref().ok_or(VerifyError::UnknownKey)?;
        let key = self.verifiers.get(kid).ok_or(VerifyError::UnknownKey)?;
        if header.alg != key.alg {
            return Err(VerifyError::WrongAlgorithm);
        }
        let typ_ok = header
            .typ
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(expect.typ));
        if !typ_ok {
            return Err(VerifyError::WrongType);
        }
        let validation = expect.validation(key.alg).ok_or(VerifyError::WrongAlgorithm)?;
        let data = jsonwebtoken::decode::<C>(token, &key.key, validation).map_err(|e| map_error(e.into_kind()))?;
        Ok(Verified {
            header: data.header,
            claims: data.claims,
        })
    }
}

fn map_error(kind: ErrorKind) -> VerifyError {
    match kind {
        ErrorKind::InvalidSignature => VerifyError::BadSignature,
        ErrorKind::ExpiredSignature => VerifyError::Expired,
        ErrorKind::ImmatureSignature => VerifyError::NotYetValid,
        ErrorKind::InvalidIssuer => VerifyError::WrongIssuer,
        ErrorKind::InvalidAudience => VerifyError::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) => VerifyError::MissingClaim(claim),
        ErrorKind::InvalidAlgorithm => VerifyError::WrongAlgorithm,
        _ => VerifyError::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const TYP: &str = "at+jwt";

    fn ring_and_key() -> (KeyRing, Vec<u8>) {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        use base64::Engine as _;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let der = crate::testing::p256_pkcs8();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der).expect("key");
        let point = pair.public_key().as_ref();
        let jwk = json!({ "kty": "EC", "crv": "P-256", "kid": "k1",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65]) });
        let active = ActiveKey {
            kid: "k1",
            alg: "ES256",
            private_key_pkcs8: &der,
            not_after: 0,
        };
        let jwk_json = jwk.to_string();
        let published = PublishedKey {
            kid: "k1",
            alg: "ES256",
            jwk_json: &jwk_json,
        };
        (KeyRing::new(Some(active), [published]).expect("ring"), der)
    }

    fn expect() -> Expectations {
        Expectations::new(TYP, "https://as.test", &[], 0)
    }

    fn claims() -> Value {
        let now = crate::testing::now();
        json!({ "iss": "https://as.test", "sub": "s", "iat": now, "exp": now + 60 })
    }

    #[test]
    fn a_key_past_its_retirement_signs_nothing() {
        let (mut ring, _) = ring_and_key();
        let now = crate::testing::now();
        assert!(ring.signer_at(now).is_some(), "no retirement known: it signs");
        ring.signer_not_after = now + 5;
        assert!(ring.signer_at(now).is_some());
        ring.signer_not_after = now;
        assert!(ring.signer_at(now).is_none(), "retired at its not_after");
        assert!(ring.signer().is_some(), "still held, for readiness to report");
    }

    #[test]
    fn a_token_naming_critical_headers_is_refused_even_with_a_good_signature() {
        let (ring, der) = ring_and_key();
        let key = jsonwebtoken::EncodingKey::from_ec_der(&der);
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some(TYP.into());
        header.kid = Some("k1".into());
        let plain = jsonwebtoken::encode(&header, &claims(), &key).expect("sign");
        ring.verify::<Value>(&plain, &expect())
            .expect("the same token without crit verifies");
        for crit in [vec!["urn:example:ext".to_owned()], vec![]] {
            header.crit = Some(crit.clone());
            let token = jsonwebtoken::encode(&header, &claims(), &key).expect("sign");
            let refused = ring.verify::<Value>(&token, &expect()).map(|_| ());
            assert_eq!(refused, Err(VerifyError::UnsupportedCritical), "{crit:?}");
        }
    }
}
