//! The JWS path of the exchange: identity assertion verification (header decode, `kid`
//! and `alg` checks, `crit`, one ES256 signature check, claims, time rules).
//!
//! The first input byte picks a mode: even, the rest is a compact token as a client would
//! send it; odd, the rest is `header JSON \0 claims JSON`, signed here with the key the
//! verifier trusts, so the fuzzer reaches everything behind a valid signature. Whatever
//! verifies must obey the rules the verifier promises.
#![no_main]

use std::sync::LazyLock;
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use identity_service::assertion::Assertions;
use libfuzzer_sys::fuzz_target;
use proto::keys::v1::{KeySet, PublicKey, SigningKey};
use protocol::jose::KeyRing;

const ISSUER: &str = "https://agentauth.fuzz";
const KID: &str = "fuzz-key";
/// A P-256 key made for this harness alone (PKCS#8), so seeds signed with it verify.
const PKCS8: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgEDeGnOFqxFhRU5igMPdLg3CmL6Yi+MvI1qp3zE5+guWhRANCAATOaA2/yihpNVEKTuQNw6GPzDaGAYTi+x+s/YOkdYfdnNvf4fETjdN6YJkEAXkh8oSBUCnI+Z0YXnT7b46vnJJt";
const MAX_LIFETIME: Duration = Duration::from_secs(3600);
const LEEWAY: Duration = Duration::from_secs(60);

struct Setup {
    ring: KeyRing,
    pair: EcdsaKeyPair,
    assertions: Assertions,
}

static SETUP: LazyLock<Setup> = LazyLock::new(|| {
    let der = STANDARD.decode(PKCS8).expect("key");
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der).expect("P-256 key");
    let point = pair.public_key().as_ref();
    let jwk = serde_json::json!({ "kty": "EC", "crv": "P-256", "kid": KID,
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65]) });
    let set = KeySet {
        active: Some(SigningKey {
            kid: KID.into(),
            alg: "ES256".into(),
            private_key_pkcs8: der,
            not_after: 0,
        }),
        published: vec![PublicKey {
            kid: KID.into(),
            alg: "ES256".into(),
            jwk_json: jwk.to_string(),
        }],
    };
    Setup {
        ring: shared::keys::key_ring(&set).expect("ring"),
        pair,
        assertions: Assertions::new(ISSUER, MAX_LIFETIME, MAX_LIFETIME, LEEWAY),
    }
});

fn signed(setup: &Setup, header: &[u8], claims: &[u8]) -> String {
    let mut jws = URL_SAFE_NO_PAD.encode(header);
    jws.push('.');
    URL_SAFE_NO_PAD.encode_string(claims, &mut jws);
    let signature = setup.pair.sign(&SystemRandom::new(), jws.as_bytes()).expect("sign");
    jws.push('.');
    URL_SAFE_NO_PAD.encode_string(signature.as_ref(), &mut jws);
    jws
}

fuzz_target!(|data: &[u8]| {
    let setup = &*SETUP;
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let (token, header) = if mode % 2 == 0 {
        (String::from_utf8_lossy(rest).into_owned(), None)
    } else {
        let mut parts = rest.splitn(2, |b| *b == 0);
        let header = parts.next().unwrap_or_default();
        let claims = parts.next().unwrap_or_default();
        (signed(setup, header, claims), Some(header))
    };
    let now = shared::time::unix_now();
    let Ok(claims) = setup.assertions.verify(&setup.ring, &token, now) else {
        return;
    };
    assert_eq!(claims.iss, ISSUER);
    assert_eq!(claims.aud, ISSUER);
    assert!(claims.iat <= now + LEEWAY.as_secs() as i64, "issued in the future");
    assert!(claims.exp >= now - LEEWAY.as_secs() as i64, "expired");
    assert!(claims.exp - claims.iat <= MAX_LIFETIME.as_secs() as i64, "lifetime");
    if let Some(header) = header {
        let header: serde_json::Value = serde_json::from_slice(header).expect("a verified header is JSON");
        assert!(header.get("crit").is_none(), "RFC 7515 §4.1.11");
        assert_eq!(header["kid"], KID);
        assert!(
            header["typ"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case("oauth-id-jag+jwt"))
        );
    }
});
