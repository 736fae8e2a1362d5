//! Keys a client holds, and the JWTs it signs with them: `private_key_jwt` client
//! assertions and DPoP proofs, written out by hand so tests can spoil any part.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use shared::testing::TestKey;
use shared::time::unix_now;

pub const TOKEN_ENDPOINT: &str = "https://agentauth.test/oauth2/token";
pub const IDENTITY_ENDPOINT: &str = "https://agentauth.test/agent/identity";

/// An ES256 key pair of a client.
pub struct ClientKey {
    key: TestKey,
    pair: EcdsaKeyPair,
    pub kid: String,
}

impl ClientKey {
    pub fn generate(kid: &str) -> Self {
        let key = TestKey::generate(kid);
        Self {
            pair: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &key.pkcs8).expect("parse"),
            kid: kid.to_owned(),
            key,
        }
    }

    /// The public JWK as a DPoP proof carries it: key members only.
    pub fn public_jwk(&self) -> Value {
        json!({ "kty": "EC", "crv": "P-256", "x": self.key.jwk["x"], "y": self.key.jwk["y"] })
    }

    /// `{"keys": [the public JWK with kid, alg and use]}`.
    pub fn jwks(&self) -> String {
        json!({ "keys": [self.key.jwk] }).to_string()
    }

    /// The private key as a JWK, for tests that put it where only public keys belong.
    pub fn private_jwk(&self) -> Value {
        let mut jwk = self.public_jwk();
        // The PKCS#8 document of a P-256 key holds the 32-byte scalar right after the
        // `04 20` of its OCTET STRING.
        let der = &self.key.pkcs8;
        let at = der.windows(2).position(|w| w == [0x04, 0x20]).expect("private scalar") + 2;
        jwk["d"] = URL_SAFE_NO_PAD.encode(&der[at..at + 32]).into();
        jwk
    }

    /// RFC 7638 thumbprint, as `cnf.jkt` must carry it.
    pub fn thumbprint(&self) -> String {
        let jwk = self.public_jwk();
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk["x"].as_str().expect("x"),
            jwk["y"].as_str().expect("y")
        );
        URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            canonical.as_bytes(),
        ))
    }

    /// A compact JWS of exactly this header and these claims.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.pair.sign(&SystemRandom::new(), input.as_bytes()).expect("sign");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }

    /// A `private_key_jwt` assertion for `client_id`, valid for a minute.
    pub fn client_assertion(&self, client_id: &str) -> String {
        self.sign(&self.assertion_header(), &assertion_claims(client_id))
    }

    pub fn assertion_header(&self) -> Value {
        json!({ "alg": "ES256", "typ": "JWT", "kid": self.kid })
    }

    /// A DPoP proof for `POST` to the token endpoint.
    pub fn dpop_proof(&self) -> String {
        self.sign(&self.dpop_header(), &dpop_claims("POST", TOKEN_ENDPOINT))
    }

    pub fn dpop_header(&self) -> Value {
        json!({ "alg": "ES256", "typ": "dpop+jwt", "jwk": self.public_jwk() })
    }
}

pub fn assertion_claims(client_id: &str) -> Value {
    let now = unix_now();
    json!({
        "iss": client_id, "sub": client_id, "aud": TOKEN_ENDPOINT,
        "iat": now, "exp": now + 60, "jti": protocol::secrets::random_token(12),
    })
}

pub fn dpop_claims(htm: &str, htu: &str) -> Value {
    json!({ "htm": htm, "htu": htu, "iat": unix_now(), "jti": protocol::secrets::random_token(12) })
}
