//! RFC 7523 §2.1: an identity assertion as authorization grant. Agents are public
//! clients; credentials, when a client does send them, must still be right.
//!
//! The assertion is verified here, with the keys jwks-service publishes (the exchange's
//! one signature check); identity-service is asked only for the registration's current
//! state (one gRPC call, one store read there), so issuance scales with this tier.
//!
//! An agent may bind the token to a key with a DPoP proof. An assertion that is itself
//! bound (identity-service put a `cnf.jkt` in it) is exchanged only with a proof of that
//! key, so a stolen assertion is as useless as a stolen token.

use std::sync::Arc;

use protocol::jose::assertion::{AssertionClaims, AssertionRules};
use shared::keys::watch::KeyRingWatch;

use super::request::{JwtBearerRequest, Presented};
use super::{DpopProofs, Resources};
use crate::access_token::{Confirmation, Minted, TokenMinter, TokenRequest};
use crate::client_auth::ClientAuthenticator;
use crate::error::OAuthError;
use crate::peers::identity::IdentityClient;

#[derive(Debug)]
pub struct JwtBearerGrant {
    /// Our identity assertions, verified here with `keys`.
    pub assertions: AssertionRules,
    /// The published keys, from jwks-service.
    pub keys: KeyRingWatch,
    pub authenticator: Arc<ClientAuthenticator>,
    pub proofs: Arc<DpopProofs>,
    pub identity: Arc<IdentityClient>,
    pub resources: Arc<Resources>,
    pub minter: Arc<TokenMinter>,
}

impl JwtBearerGrant {
    pub async fn exchange(&self, request: JwtBearerRequest, presented: Presented) -> Result<Minted, OAuthError> {
        let audiences = self.resources.requested(&request.scoping)?;
        let (mut x5t_s256, mut named) = (None, presented.client_id);
        if let Some(credentials) = presented.credentials {
            let authenticated = self.authenticator.authenticate(credentials).await?;
            x5t_s256 = authenticated.certificate_thumbprint;
            named = Some(authenticated.client.client_id.to_string());
        }
        // Everything that can be refused here is, before the DPoP proof's replay entry is
        // written and before identity-service is asked.
        let claims = self.verify_assertion(&request.assertion)?;
        // RFC 6749 §5.2 invalid_grant: a grant "issued to another client". The token goes
        // to the assertion's client, so a request naming (or authenticating as) another
        // one is refused rather than answered for someone else.
        if named.as_deref().is_some_and(|named| named != claims.client_id) {
            return Err(OAuthError::InvalidGrant(
                "the assertion was issued to another client than the one this request names".into(),
            ));
        }
        let jkt = self.proofs.key(&presented.dpop).await?;
        let registration = self.identity.lookup(&claims, &request.assertion).await?;
        // Bound by the assertion's `cnf` and by the registration's key: the proof must be
        // of each (they are the same key for every assertion we issue).
        let asserted = claims.cnf.as_ref().map(|cnf| &cnf.jkt);
        for bound in [asserted, registration.bound_jkt.as_ref()].into_iter().flatten() {
            match &jkt {
                Some(proved) if proved == bound => {}
                Some(_) => {
                    return Err(OAuthError::InvalidGrant(
                        "this assertion is bound to another DPoP key".into(),
                    ));
                }
                None => {
                    return Err(OAuthError::InvalidGrant(
                        "this assertion is bound to a DPoP key; send a DPoP proof of it".into(),
                    ));
                }
            }
        }
        let scope = self
            .resources
            .narrow(&registration.scopes, &request.scoping, &audiences)?;
        self.minter.mint(TokenRequest {
            subject: &registration.subject,
            client_id: &registration.client_id,
            scope,
            audiences,
            cnf: Confirmation { jkt, x5t_s256 },
            grant_id: None,
        })
    }

    /// Our assertion, verified with the published keys: a refusal is `invalid_grant`, as
    /// identity-service answered it before; with no key received yet, a 503.
    fn verify_assertion(&self, assertion: &str) -> Result<AssertionClaims, OAuthError> {
        let keys = self.keys.borrow().clone();
        if keys.published_kids().next().is_none() {
            return Err(OAuthError::TemporarilyUnavailable {
                what: "signing keys",
                cause: "no key set received from jwks-service yet".into(),
            });
        }
        self.assertions
            .verify(&keys, assertion, shared::time::unix_now())
            .map_err(|refused| {
                metrics::counter!(shared::telemetry::metrics::ASSERTION_VALIDATIONS, "outcome" => refused.label())
                    .increment(1);
                OAuthError::from(refused)
            })
    }
}
