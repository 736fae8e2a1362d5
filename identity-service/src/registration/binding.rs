//! The DPoP key a registration request proves (RFC 9449 §4.3, `htu` the registration
//! endpoint), checked once: the proof's `jti` is recorded so no replica takes it again.
//! The registration's assertions are bound to the key, so a stolen assertion cannot be
//! exchanged without it.

use std::sync::Arc;

use protocol::jose::dpop::{DpopVerifier, ProofTarget};

use crate::error::IdentityError;
use shared::store::replay::ReplayCache;

#[derive(Debug)]
pub struct KeyBinding {
    /// `None` when DPoP is disabled: a proof is then ignored (RFC 9449 §5).
    verifier: Option<DpopVerifier>,
    replay: Arc<dyn ReplayCache>,
    /// Every registration must carry a proof.
    required: bool,
    /// The registration endpoint's URL, the proofs' `htu`.
    endpoint: String,
}

impl KeyBinding {
    pub fn new(verifier: Option<DpopVerifier>, replay: Arc<dyn ReplayCache>, required: bool, endpoint: String) -> Self {
        Self {
            verifier,
            replay,
            required,
            endpoint,
        }
    }

    /// The thumbprint of the key `proofs` (every `DPoP` header sent) prove, if any.
    pub async fn bind(&self, proofs: &[&[u8]], now: i64) -> Result<Option<String>, IdentityError> {
        let (proof, verifier) = match (proofs, &self.verifier) {
            ([_, _, ..], Some(_)) => {
                return Err(IdentityError::InvalidDpopProof("send exactly one DPoP header".into()));
            }
            ([proof], Some(verifier)) => (proof, verifier),
            _ if self.required => {
                return Err(IdentityError::InvalidDpopProof(
                    "this server binds every registration to a key: send a DPoP proof (RFC 9449)".into(),
                ));
            }
            _ => return Ok(None),
        };
        let proof = std::str::from_utf8(proof)
            .map_err(|_| IdentityError::InvalidDpopProof("the DPoP header is not a compact JWS".into()))?;
        let urls = [self.endpoint.clone()];
        let target = ProofTarget {
            method: "POST",
            urls: &urls,
            access_token: None,
        };
        let checked = verifier
            .verify(proof, target, now)
            .map_err(|e| IdentityError::InvalidDpopProof(e.to_string()))?;
        let first = self
            .replay
            .first_use(
                &format!("dpop:{}", checked.jkt),
                &checked.jti,
                verifier.replay_until(&checked),
            )
            .await?;
        if !first {
            return Err(IdentityError::InvalidDpopProof(
                "this DPoP proof was already used".into(),
            ));
        }
        Ok(Some(checked.jkt))
    }
}
