//! RFC 9449 DPoP proofs, against the protocol crate alone: any string a client sends as
//! a `DPoP` header is verified or refused, never a panic, in time bounded by its length.
//! An accepted proof names the key it proved (an RFC 7638 thumbprint) and a `jti`.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use protocol::jose::Algorithm;
use protocol::jose::alg::JwsAlg;
use protocol::jose::dpop::{DpopVerifier, ProofTarget};

const NOW: i64 = 1_800_000_000;

fuzz_target!(|proof: &[u8]| {
    let Ok(proof) = std::str::from_utf8(proof) else {
        return;
    };
    let verifier = DpopVerifier::new(
        vec![
            JwsAlg::Jwt(Algorithm::ES256),
            JwsAlg::Jwt(Algorithm::EdDSA),
            JwsAlg::Ed25519,
            JwsAlg::Jwt(Algorithm::RS256),
            JwsAlg::Jwt(Algorithm::PS256),
        ],
        Duration::from_secs(60),
        None,
    );
    let urls = ["https://as.fuzz/oauth2/token".to_owned()];
    let target = ProofTarget {
        method: "POST",
        urls: &urls,
        access_token: None,
    };
    if let Ok(checked) = verifier.verify(proof, target, NOW) {
        assert_eq!(checked.jkt.len(), 43, "a SHA-256 thumbprint, base64url");
        assert!(!checked.jti.is_empty());
    }
});
