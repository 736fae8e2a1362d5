//! RFC 7636 PKCE, S256 only: OAuth 2.1 (draft-ietf-oauth-v2-1 §4.1.1) and the MCP
//! authorization specification require it, and `plain` (the default when no method is
//! sent, RFC 7636 §4.3) gives no protection against a leaked authorization request.

use aws_lc_rs::{constant_time, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// The one `code_challenge_method` accepted, as discovery advertises it.
pub const S256: &str = "S256";

/// Why a challenge or a verifier is refused; each message says what a client must send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PkceError {
    #[error("code_challenge_method must be S256")]
    UnsupportedMethod,
    #[error("code_challenge must be the unpadded base64url SHA-256 of the code verifier (43 characters)")]
    MalformedChallenge,
    #[error("code_verifier must be 43 to 128 characters from A-Z, a-z, 0-9, '-', '.', '_' and '~'")]
    MalformedVerifier,
    #[error("code_verifier does not match the code_challenge")]
    Mismatch,
}

/// A code challenge sent to the authorization endpoint, checked: what a code is bound to
/// until the token endpoint sees the verifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CodeChallenge(String);

impl CodeChallenge {
    /// `method` is `code_challenge_method`; a missing one means `plain`, which is refused.
    pub fn parse(challenge: &str, method: Option<&str>) -> Result<Self, PkceError> {
        if method != Some(S256) {
            return Err(PkceError::UnsupportedMethod);
        }
        Self::parse_s256(challenge)
    }

    fn parse_s256(challenge: &str) -> Result<Self, PkceError> {
        let digest_len = URL_SAFE_NO_PAD
            .decode(challenge)
            .map(|bytes| bytes.len())
            .map_err(|_| PkceError::MalformedChallenge)?;
        if challenge.len() != 43 || digest_len != digest::SHA256_OUTPUT_LEN {
            return Err(PkceError::MalformedChallenge);
        }
        Ok(Self(challenge.to_owned()))
    }

    /// The S256 challenge of `verifier`, as a client sends it (RFC 7636 §4.2).
    pub fn s256_of(verifier: &str) -> String {
        URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
    }

    /// RFC 7636 §4.6: `BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge`,
    /// compared in constant time.
    pub fn verify(&self, verifier: &str) -> Result<(), PkceError> {
        check_verifier(verifier)?;
        let computed = Self::s256_of(verifier);
        constant_time::verify_slices_are_equal(computed.as_bytes(), self.0.as_bytes()).map_err(|_| PkceError::Mismatch)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// RFC 7636 §4.1: `code-verifier = 43*128unreserved`.
fn check_verifier(verifier: &str) -> Result<(), PkceError> {
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    if (43..=128).contains(&verifier.len()) && verifier.bytes().all(unreserved) {
        Ok(())
    } else {
        Err(PkceError::MalformedVerifier)
    }
}

impl TryFrom<String> for CodeChallenge {
    type Error = PkceError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse_s256(&value)
    }
}

impl From<CodeChallenge> for String {
    fn from(challenge: CodeChallenge) -> Self {
        challenge.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_example_verifies() {
        let challenge = CodeChallenge::parse(CHALLENGE, Some(S256)).expect("valid challenge");
        assert_eq!(challenge.verify(VERIFIER), Ok(()));
        assert_eq!(challenge.as_str(), CHALLENGE);
    }

    #[test]
    fn plain_and_a_missing_method_are_refused() {
        for method in [None, Some("plain"), Some("s256"), Some("S512")] {
            assert_eq!(
                CodeChallenge::parse(CHALLENGE, method),
                Err(PkceError::UnsupportedMethod),
                "{method:?}"
            );
        }
    }

    #[test]
    fn a_challenge_must_be_a_sha256_digest_in_base64url() {
        for bad in [
            "",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM=",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cMAA",
        ] {
            assert_eq!(
                CodeChallenge::parse(bad, Some(S256)),
                Err(PkceError::MalformedChallenge),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_wrong_or_malformed_verifier_is_refused() {
        let challenge = CodeChallenge::parse(CHALLENGE, Some(S256)).expect("valid challenge");
        let mut wrong = VERIFIER.to_owned();
        wrong.replace_range(0..1, "e");
        assert_eq!(challenge.verify(&wrong), Err(PkceError::Mismatch));
        assert_eq!(
            challenge.verify(CHALLENGE),
            Err(PkceError::Mismatch),
            "the challenge is not its own verifier"
        );
        for bad in [
            "short",
            &"a".repeat(129),
            &format!("{VERIFIER} "),
            &format!("{VERIFIER}é"),
        ] {
            assert_eq!(challenge.verify(bad), Err(PkceError::MalformedVerifier), "{bad}");
        }
        let longest = "a".repeat(128);
        let for_longest = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, longest.as_bytes()));
        let challenge = CodeChallenge::parse(&for_longest, Some(S256)).expect("valid challenge");
        assert_eq!(challenge.verify(&longest), Ok(()));
    }

    #[test]
    fn a_stored_challenge_is_checked_again_when_read() {
        let json = serde_json::to_string(&CodeChallenge::parse(CHALLENGE, Some(S256)).expect("valid")).expect("json");
        assert_eq!(json, format!("\"{CHALLENGE}\""));
        assert!(serde_json::from_str::<CodeChallenge>("\"not-a-digest\"").is_err());
    }
}
