//! DPoP at the token endpoint (RFC 9449): the key a request proves possession of, once.

use std::sync::Arc;

use protocol::jose::dpop::{DpopError, DpopVerifier, ProofTarget};
use shared::store::replay::ReplayCache;

use super::request::DpopHeader;
use crate::error::OAuthError;

#[derive(Debug)]
pub struct DpopProofs {
    /// `None` when DPoP is disabled: proofs are then ignored (RFC 9449 §5).
    pub verifier: Option<DpopVerifier>,
    /// Proof `jti`s, single use on every replica.
    pub replay: Arc<dyn ReplayCache>,
    /// The URLs clients address the token endpoint by: a proof's `htu` names one.
    pub token_endpoint_urls: Vec<String>,
}

impl DpopProofs {
    /// The key a token request proves possession of (§4.3), once: its proof's `jti` is
    /// recorded so no replica accepts it again. No `DPoP` header: `None`.
    pub async fn key(&self, header: &DpopHeader) -> Result<Option<String>, OAuthError> {
        // §5: a server that does not do DPoP issues a Bearer token and ignores the header.
        let Some(verifier) = &self.verifier else {
            return Ok(None);
        };
        let proof = match header {
            DpopHeader::Absent => return Ok(None),
            DpopHeader::One(proof) => proof,
            DpopHeader::Several => {
                return Err(OAuthError::InvalidDpopProof("send exactly one DPoP header".into()));
            }
            DpopHeader::Unreadable => {
                return Err(OAuthError::InvalidDpopProof(
                    "the DPoP header is not a compact JWS".into(),
                ));
            }
        };
        let now = shared::time::unix_now();
        let target = ProofTarget {
            method: "POST",
            urls: &self.token_endpoint_urls,
            access_token: None,
        };
        let checked = verifier.verify(proof, target, now).map_err(|e| self.refusal(e, now))?;
        let namespace = format!("dpop:{}", checked.jkt);
        if !self
            .replay
            .first_use(&namespace, &checked.jti, verifier.replay_until(&checked))
            .await?
        {
            shared::audit::record(
                "replay_detected",
                shared::audit::Actor::Anonymous,
                "dpop_proof",
                "refused",
            );
            return Err(OAuthError::InvalidDpopProof("this DPoP proof was already used".into()));
        }
        Ok(Some(checked.jkt))
    }

    /// §8.2: a fresh nonce to send with every success, when the server asks for nonces.
    pub fn fresh_nonce(&self) -> Option<String> {
        let nonces = self.verifier.as_ref().and_then(|d| d.nonces())?;
        Some(nonces.issue(shared::time::unix_now()))
    }

    fn refusal(&self, error: DpopError, now: i64) -> OAuthError {
        match (error, self.verifier.as_ref().and_then(|v| v.nonces())) {
            (DpopError::UseNonce, Some(nonces)) => OAuthError::UseDpopNonce {
                nonce: nonces.issue(now),
            },
            (DpopError::UseNonce, None) => OAuthError::InvalidDpopProof("the DPoP proof's nonce is not current".into()),
            (DpopError::Invalid(reason), _) => OAuthError::InvalidDpopProof(reason),
        }
    }
}
