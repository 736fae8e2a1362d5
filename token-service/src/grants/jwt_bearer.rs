//! RFC 7523 §2.1: an identity assertion as authorization grant. Agents are public
//! clients; credentials, when a client does send them, must still be right. A federated
//! client (workload identity) authenticating the exchange is the agent's runtime, and
//! the token's `client_id` is it.
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
use crate::client_auth::{ClientAuthenticator, ClientCredentials};
use crate::clients::{AuthMethod, Client};
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
        let Presenter {
            x5t_s256,
            named,
            runtime,
        } = self.presenter(presented.credentials, presented.client_id).await?;
        // Everything that can be refused here is, before the DPoP proof's replay entry is
        // written and before identity-service is asked.
        let claims = verify_assertion(&self.assertions, &self.keys, &request.assertion)?;
        // RFC 6749 §5.2 invalid_grant: a grant "issued to another client". The token goes
        // to the assertion's client, so a request naming (or authenticating as) another
        // one is refused rather than answered for someone else.
        if named.as_deref().is_some_and(|named| named != claims.client_id) {
            return Err(OAuthError::InvalidGrant(
                "the assertion was issued to another client than the one this request names".into(),
            ));
        }
        let jkt = self.proofs.key(&presented.dpop).await?;
        if runtime.as_ref().is_some_and(|client| client.requires_dpop) && jkt.is_none() {
            return Err(super::dpop_required());
        }
        let registration = self.identity.lookup(&claims, &request.assertion).await?;
        check_binding(
            claims.cnf.as_ref().map(|cnf| &cnf.jkt),
            registration.bound_jkt.as_ref(),
            jkt.as_ref(),
        )?;
        let scope = self
            .resources
            .narrow(&registration.scopes, &request.scoping, &audiences)?;
        let client_id = runtime
            .as_ref()
            .map_or(registration.client_id.as_str(), |client| client.client_id.as_str());
        self.minter.mint(TokenRequest {
            subject: &registration.subject,
            client_id,
            scope,
            audiences,
            cnf: Confirmation { jkt, x5t_s256 },
            grant_id: None,
        })
    }

    /// Whether `assertion` is a trusted issuer's workload token rather than our own
    /// identity assertion (unverified: it only chooses who verifies it).
    pub fn is_workload_token(&self, assertion: &str) -> bool {
        self.authenticator.workloads.claimed_by(assertion).is_some()
    }

    /// Who presents the agent's grant: the client its credentials authenticate (a
    /// federated one stands for the workload the agent runs in, and the token is issued
    /// to it), or the public client the request names, if any.
    async fn presenter(
        &self,
        credentials: Option<ClientCredentials>,
        client_id: Option<String>,
    ) -> Result<Presenter, OAuthError> {
        let Some(credentials) = credentials else {
            return Ok(Presenter {
                x5t_s256: None,
                named: client_id,
                runtime: None,
            });
        };
        let authenticated = self.authenticator.authenticate(credentials).await?;
        let x5t_s256 = authenticated.certificate_thumbprint;
        Ok(if authenticated.client.auth_method == AuthMethod::Workload {
            Presenter {
                x5t_s256,
                named: None,
                runtime: Some(authenticated.client),
            }
        } else {
            Presenter {
                x5t_s256,
                named: Some(authenticated.client.client_id.to_string()),
                runtime: None,
            }
        })
    }
}

/// Our identity assertion, verified with the published keys: a refusal is
/// `invalid_grant`, as identity-service answered it before; with no key received yet, a
/// 503.
pub(super) fn verify_assertion(
    rules: &AssertionRules,
    keys: &KeyRingWatch,
    assertion: &str,
) -> Result<AssertionClaims, OAuthError> {
    let keys = keys.borrow().clone();
    if keys.published_kids().next().is_none() {
        return Err(OAuthError::TemporarilyUnavailable {
            what: "signing keys",
            cause: "no key set received from jwks-service yet".into(),
        });
    }
    rules
        .verify(&keys, assertion, shared::time::unix_now())
        .map_err(|refused| {
            metrics::counter!(shared::telemetry::metrics::ASSERTION_VALIDATIONS, "outcome" => refused.label())
                .increment(1);
            OAuthError::from(refused)
        })
}

/// Who presents an exchange.
struct Presenter {
    /// The certificate the client authenticated with (RFC 8705 binding).
    x5t_s256: Option<String>,
    /// The client the assertion must have been issued to.
    named: Option<String>,
    /// A federated client the token is issued to instead.
    runtime: Option<Client>,
}

/// Bound by the assertion's `cnf` and by the registration's key: the proof must be of
/// each (they are the same key for every assertion we issue).
fn check_binding(
    asserted: Option<&String>,
    registered: Option<&String>,
    proved: Option<&String>,
) -> Result<(), OAuthError> {
    for bound in [asserted, registered].into_iter().flatten() {
        match proved {
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
    Ok(())
}
