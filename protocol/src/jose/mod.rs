//! JOSE helpers used by both signers (identity-service, token-service):
//!
//! - [`SigningKey`]: a private key parsed once, signing compact JWS. `jsonwebtoken::encode`
//!   re-parses the key on every call (~45 % of ES256 signing time, BUILD-NOTES), which the
//!   token endpoint cannot afford; serialization still follows RFC 7515 §7.1 exactly and
//!   the header type is jsonwebtoken's own.
//! - [`KeyRing`]: the active signing key plus every published verification key, as last
//!   sent by jwks-service; verification goes through `jsonwebtoken::decode`.
//! - [`keys`]: key sets others publish (providers, clients), parsed; fetching them is
//!   `shared::keys::remote`'s.
//! - [`dpop`]: RFC 9449 proof checks and stateless server nonces.
//! - [`assertion`]: our identity assertions' claims and the rules both services hold
//!   them to.
//! - [`alg`]: the algorithms we verify from others (RFC 9864 `Ed25519` among them) and
//!   which a published key allows; [`jws`]: verifying a JWS whose `alg` jsonwebtoken's
//!   header type cannot name.
//! - [`NumericDate`]: RFC 7519 time claims, range-checked.

pub mod alg;
pub mod assertion;
pub mod dpop;
pub mod jws;
mod keyring;
pub mod keys;
mod numeric_date;
mod signer;

pub use jsonwebtoken::Algorithm;

/// JWK members that belong only to private or symmetric keys (RFC 7518 §6.2.2, §6.3.2,
/// §6.4.1; `r` of `oth`): a public key (a registered key set, a DPoP proof's `jwk`)
/// carrying any of them is refused.
pub const JWK_PRIVATE_MEMBERS: [&str; 9] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k", "r"];
pub use keyring::{ActiveKey, Expectations, KeyRing, PublishedKey, Verified, VerifyError};
pub use numeric_date::NumericDate;
pub use signer::SigningKey;

#[derive(Debug, thiserror::Error)]
pub enum JoseError {
    #[error("unsupported algorithm `{0}`")]
    UnsupportedAlgorithm(String),
    #[error("private key for kid `{kid}` does not parse as PKCS#8 {alg}")]
    BadPrivateKey { kid: String, alg: String },
    #[error("public key for kid `{kid}` is not a usable JWK: {reason}")]
    BadPublicKey { kid: String, reason: String },
    #[error("signing failed")]
    SigningFailed,
}

/// Every algorithm [`parse_algorithm`] accepts.
pub const ALGORITHMS: [Algorithm; 2] = [Algorithm::ES256, Algorithm::EdDSA];

/// Parses a JOSE `alg` name into one of the algorithms we sign with.
pub fn parse_algorithm(name: &str) -> Result<Algorithm, JoseError> {
    match name {
        "ES256" => Ok(Algorithm::ES256),
        "EdDSA" => Ok(Algorithm::EdDSA),
        other => Err(JoseError::UnsupportedAlgorithm(other.to_owned())),
    }
}
