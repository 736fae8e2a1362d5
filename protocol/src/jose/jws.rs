//! Compact JWS from others whose `alg` jsonwebtoken's `Header` cannot hold (RFC 9864
//! `Ed25519`): the protected header read as JSON, the signature checked by jsonwebtoken's
//! own crypto under the algorithm the key allows, the claims decoded by jsonwebtoken only
//! after the signature held. Callers check the claims they require.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::alg::JwsAlg;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    #[error("not a compact JWS")]
    Malformed,
    #[error("the signature is invalid")]
    BadSignature,
    #[error("the claims are not of the expected types")]
    Claims,
}

/// The protected header of a compact JWS (RFC 7515 §7.1), as JSON.
pub fn protected_header(token: &str) -> Result<Map<String, Value>, JwsError> {
    let (header, rest) = token.split_once('.').ok_or(JwsError::Malformed)?;
    if rest.split('.').count() != 2 {
        return Err(JwsError::Malformed);
    }
    let bytes = URL_SAFE_NO_PAD.decode(header).map_err(|_| JwsError::Malformed)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(JwsError::Malformed),
    }
}

/// The header's `alg`, if it is an asymmetric algorithm.
pub fn header_alg(header: &Map<String, Value>) -> Option<JwsAlg> {
    header.get("alg").and_then(Value::as_str).and_then(JwsAlg::parse)
}

/// Checks the signature of `token` with `key` under `alg`, then decodes its claims.
pub fn verify<C: DeserializeOwned>(token: &str, key: &DecodingKey, alg: JwsAlg) -> Result<C, JwsError> {
    let (message, signature) = token.rsplit_once('.').ok_or(JwsError::Malformed)?;
    match jsonwebtoken::crypto::verify(signature, message.as_bytes(), key, alg.crypto()) {
        Ok(true) => {}
        Ok(false) => return Err(JwsError::BadSignature),
        Err(_) => return Err(JwsError::Malformed),
    }
    jsonwebtoken::dangerous::insecure_decode_claims(token).map_err(|_| JwsError::Claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};

    fn ed25519_jws(alg: &str, claims: &str) -> (String, DecodingKey) {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new()).expect("key");
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("pair");
        let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
        let payload = URL_SAFE_NO_PAD.encode(claims);
        let message = format!("{header}.{payload}");
        let signature = URL_SAFE_NO_PAD.encode(pair.sign(message.as_bytes()).as_ref());
        let key = DecodingKey::from_ed_components(&URL_SAFE_NO_PAD.encode(pair.public_key().as_ref())).expect("key");
        (format!("{message}.{signature}"), key)
    }

    #[test]
    fn an_ed25519_named_jws_verifies_with_eddsa_and_a_tampered_one_does_not() {
        let (token, key) = ed25519_jws("Ed25519", r#"{"sub":"me"}"#);
        let header = protected_header(&token).expect("header");
        assert_eq!(header_alg(&header), Some(JwsAlg::Ed25519));
        let claims: Value = verify(&token, &key, JwsAlg::Ed25519).expect("verifies");
        assert_eq!(claims["sub"], "me");
        let (other, _) = ed25519_jws("Ed25519", r#"{"sub":"you"}"#);
        let forged = format!(
            "{}.{}",
            other.rsplit_once('.').expect("jws").0,
            token.rsplit_once('.').expect("jws").1
        );
        assert_eq!(
            verify::<Value>(&forged, &key, JwsAlg::Ed25519),
            Err(JwsError::BadSignature)
        );
        assert_eq!(protected_header("a.b"), Err(JwsError::Malformed));
    }
}
