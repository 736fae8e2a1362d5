//! RFC 9449 DPoP proofs: the checks of §4.3 on a `DPoP` header, and stateless server
//! nonces (§8). What a proof proves is a key: its RFC 7638 thumbprint (`jkt`) is what
//! a token is bound to (`cnf.jkt`). Replay of a proof's `jti` is the caller's to refuse,
//! in a store every replica shares.

use std::time::Duration;

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, ThumbprintHash};
use serde::Deserialize;
use serde_json::Value;

use super::alg::{JwsAlg, key_algorithms, parse_jwk};
use super::jws::{self, JwsError};

use crate::secrets::SecretHasher;

/// `typ` of a proof (§4.2).
pub const DPOP_TYP: &str = "dpop+jwt";
/// A `jti` longer than this is not a reasonable identifier.
const MAX_JTI_LEN: usize = 128;
const NONCE_CONTEXT: &str = "dpop_nonce";

/// Why a proof is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DpopError {
    /// `invalid_dpop_proof` (§7.1).
    #[error("{0}")]
    Invalid(String),
    /// `use_dpop_nonce` (§8): retry with the `DPoP-Nonce` the response carries.
    #[error("the DPoP proof must carry the server's current nonce")]
    UseNonce,
}

fn invalid(reason: impl Into<String>) -> DpopError {
    DpopError::Invalid(reason.into())
}

/// A proof that passed every check but replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopProof {
    /// base64url SHA-256 JWK thumbprint of the proof's key.
    pub jkt: String,
    pub jti: String,
    pub iat: i64,
}

#[derive(Debug, Deserialize)]
struct ProofClaims {
    jti: String,
    htm: String,
    htu: String,
    iat: i64,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    ath: Option<String>,
}

/// What the request the proof comes with is.
#[derive(Debug, Clone, Copy)]
pub struct ProofTarget<'a> {
    pub method: &'a str,
    /// The URLs the client may have addressed the request to (public base URL + path,
    /// and an mTLS alias): `htu` must be one of them.
    pub urls: &'a [String],
    /// The access token the request presents, for `ath` (resource requests only).
    pub access_token: Option<&'a str>,
}

/// Checks proofs against the configured algorithms, window and nonce policy.
#[derive(Debug, Clone)]
pub struct DpopVerifier {
    algs: Vec<JwsAlg>,
    window: Duration,
    nonces: Option<Nonces>,
}

impl DpopVerifier {
    /// `nonces` present: every proof must carry a current server nonce.
    pub fn new(algs: Vec<JwsAlg>, window: Duration, nonces: Option<Nonces>) -> Self {
        Self { algs, window, nonces }
    }

    /// The nonce policy, when proofs must carry a server nonce.
    pub fn nonces(&self) -> Option<&Nonces> {
        self.nonces.as_ref()
    }

    /// How long a proof's `jti` must be remembered: past this it is refused by `iat`.
    pub fn replay_until(&self, proof: &DpopProof) -> i64 {
        proof.iat + self.window.as_secs() as i64 + 1
    }

    /// §4.3 checks 1–11 but replay (12 is the caller's, with [`Self::replay_until`]).
    pub fn verify(&self, proof: &str, target: ProofTarget<'_>, now: i64) -> Result<DpopProof, DpopError> {
        let header = jws::protected_header(proof).map_err(|_| invalid("the DPoP proof is not a compact JWS"))?;
        if header.get("typ").and_then(Value::as_str) != Some(DPOP_TYP) {
            return Err(invalid("the DPoP proof's `typ` must be dpop+jwt"));
        }
        let alg = jws::header_alg(&header)
            .filter(|a| self.algs.contains(a))
            .ok_or_else(|| invalid("the DPoP proof's `alg` is not one of dpop_signing_alg_values_supported"))?;
        let raw_jwk = header
            .get("jwk")
            .and_then(Value::as_object)
            .ok_or_else(|| invalid("the DPoP proof carries no `jwk`"))?;
        if super::JWK_PRIVATE_MEMBERS.iter().any(|m| raw_jwk.contains_key(*m)) {
            return Err(invalid("the DPoP proof's `jwk` must be a public key"));
        }
        let (jwk, declared) = parse_jwk(&Value::Object(raw_jwk.clone()))
            .ok_or_else(|| invalid("the DPoP proof's `jwk` is not a usable public key"))?;
        match key_algorithms(declared.as_deref(), &jwk) {
            Ok(algs) if algs.contains(&alg) => {}
            Ok(_) => return Err(invalid("the DPoP proof's `jwk` does not fit its `alg`")),
            Err(refusal) => return Err(invalid(format!("the DPoP proof's `jwk` cannot be used: {refusal}"))),
        }
        let key =
            DecodingKey::from_jwk(&jwk).map_err(|_| invalid("the DPoP proof's `jwk` is not a usable public key"))?;
        let claims: ProofClaims = jws::verify(proof, &key, alg).map_err(|e| match e {
            JwsError::BadSignature => invalid("the DPoP proof's signature is invalid"),
            _ => invalid("the DPoP proof lacks jti, htm, htu or iat, or is malformed"),
        })?;
        if claims.jti.is_empty() || claims.jti.len() > MAX_JTI_LEN {
            return Err(invalid("the DPoP proof's `jti` is empty or too long"));
        }
        if claims.htm != target.method {
            return Err(invalid("the DPoP proof's `htm` is not this request's method"));
        }
        if !target.urls.iter().any(|url| same_target_uri(&claims.htu, url)) {
            return Err(invalid("the DPoP proof's `htu` is not this request's URL"));
        }
        if (now - claims.iat).unsigned_abs() > self.window.as_secs() {
            return Err(invalid("the DPoP proof's `iat` is too far from now"));
        }
        match (target.access_token, claims.ath.as_deref()) {
            (Some(token), Some(ath)) if ath == token_hash(token) => {}
            (Some(_), _) => return Err(invalid("the DPoP proof's `ath` does not match the access token")),
            (None, _) => {}
        }
        if let Some(nonces) = &self.nonces
            && !claims.nonce.as_deref().is_some_and(|n| nonces.is_current(n, now))
        {
            return Err(DpopError::UseNonce);
        }
        let jkt = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|_| invalid("the DPoP proof's `jwk` has no thumbprint"))
            .or_else(|_| okp_thumbprint(&jwk))?;
        Ok(DpopProof {
            jkt,
            jti: claims.jti,
            iat: claims.iat,
        })
    }
}

/// The JOSE header as the client wrote it: member checks (`jwk` must hold no private
/// member) need the raw JSON, not a typed struct that drops unknown members.
fn okp_thumbprint(jwk: &Jwk) -> Result<String, DpopError> {
    let AlgorithmParameters::OctetKeyPair(okp) = &jwk.algorithm else {
        return Err(invalid("the DPoP proof's `jwk` has no thumbprint"));
    };
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, okp.x);
    Ok(URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, canonical.as_bytes())))
}

/// §4.3 check 9: the URIs compared without query and fragment, after syntax-based
/// normalisation (RFC 3986 §6.2.2: case of scheme and host, default port, dot
/// segments, percent-encoding case), which `url` applies when it parses.
pub fn same_target_uri(claimed: &str, actual: &str) -> bool {
    let strip = |raw: &str| {
        url::Url::parse(raw).ok().map(|mut u| {
            u.set_query(None);
            u.set_fragment(None);
            u
        })
    };
    match (strip(claimed), strip(actual)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// `ath`: base64url SHA-256 of the access token.
pub fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, token.as_bytes()))
}

/// Server nonces every replica can check without a store: the issue time and a keyed
/// hash of it under the deployment's pepper, good for `lifetime`.
#[derive(Debug, Clone)]
pub struct Nonces {
    hasher: SecretHasher,
    lifetime: Duration,
}

impl Nonces {
    pub fn new(hasher: SecretHasher, lifetime: Duration) -> Self {
        Self { hasher, lifetime }
    }

    /// A nonce issued at `now`, for the `DPoP-Nonce` header.
    pub fn issue(&self, now: i64) -> String {
        let at = now.to_string();
        format!("{at}.{}", self.hasher.hash(NONCE_CONTEXT, &at))
    }

    pub fn is_current(&self, nonce: &str, now: i64) -> bool {
        let Some((at, tag)) = nonce.split_once('.') else {
            return false;
        };
        let Ok(issued) = at.parse::<i64>() else {
            return false;
        };
        // A nonce from a replica whose clock runs a little ahead is still good.
        let fresh = issued <= now + 5 && now - issued <= self.lifetime.as_secs() as i64;
        fresh && self.hasher.verify(NONCE_CONTEXT, at, tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_uris_compare_after_normalisation_without_query() {
        let url = "https://as.example/oauth2/token";
        for same in [
            "https://AS.example/oauth2/token",
            "HTTPS://as.example:443/oauth2/token",
            "https://as.example/oauth2/./token",
            "https://as.example/oauth2/token?x=1",
            "https://as.example/oauth2/token#f",
        ] {
            assert!(same_target_uri(same, url), "{same}");
        }
        for other in [
            "http://as.example/oauth2/token",
            "https://as.example:8443/oauth2/token",
            "https://as.example/oauth2/token/",
            "https://evil.example/oauth2/token",
            "/oauth2/token",
        ] {
            assert!(!same_target_uri(other, url), "{other}");
        }
    }

    #[test]
    fn nonces_verify_only_while_current_and_untampered() {
        let nonces = Nonces::new(
            SecretHasher::new(&crate::secrets::Secret::new(vec![7; 32])),
            Duration::from_secs(300),
        );
        let nonce = nonces.issue(1_000);
        assert!(nonces.is_current(&nonce, 1_000));
        assert!(nonces.is_current(&nonce, 1_300));
        assert!(!nonces.is_current(&nonce, 1_301));
        assert!(!nonces.is_current(&nonce, 990), "issued in the future");
        assert!(!nonces.is_current(&nonce.replace("1000.", "1001."), 1_001));
        let other = Nonces::new(
            SecretHasher::new(&crate::secrets::Secret::new(vec![8; 32])),
            Duration::from_secs(300),
        );
        assert!(!other.is_current(&nonce, 1_000));
    }

    /// RFC 9864: oauth4webapi and the `dpop` package sign Ed25519 proofs as `Ed25519`.
    #[test]
    fn an_ed25519_named_proof_verifies_and_binds_its_key() {
        use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new()).expect("key");
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("pair");
        let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
        let proof = |alg: &str| {
            let header =
                serde_json::json!({"typ": "dpop+jwt", "alg": alg, "jwk": {"kty": "OKP", "crv": "Ed25519", "x": x}});
            let claims =
                serde_json::json!({"jti": "j1", "htm": "POST", "htu": "https://as.example/oauth2/token", "iat": 1_000});
            let message = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            );
            let signature = URL_SAFE_NO_PAD.encode(pair.sign(message.as_bytes()).as_ref());
            format!("{message}.{signature}")
        };
        let urls = ["https://as.example/oauth2/token".to_owned()];
        let target = ProofTarget {
            method: "POST",
            urls: &urls,
            access_token: None,
        };
        let verifier = DpopVerifier::new(
            vec![JwsAlg::Ed25519, JwsAlg::Jwt(jsonwebtoken::Algorithm::EdDSA)],
            Duration::from_secs(60),
            None,
        );
        let named = verifier
            .verify(&proof("Ed25519"), target, 1_000)
            .expect("Ed25519 verifies");
        let legacy = verifier.verify(&proof("EdDSA"), target, 1_000).expect("EdDSA verifies");
        assert_eq!(named.jkt, legacy.jkt, "one key, one thumbprint, whichever name");
        let only_eddsa = DpopVerifier::new(
            vec![JwsAlg::Jwt(jsonwebtoken::Algorithm::EdDSA)],
            Duration::from_secs(60),
            None,
        );
        assert!(
            only_eddsa.verify(&proof("Ed25519"), target, 1_000).is_err(),
            "an operator's alg list holds"
        );
    }
}
