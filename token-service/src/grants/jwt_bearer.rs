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

use actix_web::HttpRequest;

use super::{dpop_key, mint, narrow_scope, requested_resources};
use crate::access_token::{Confirmation, Minted, TokenRequest};
use crate::clients::{authenticate, presented_credentials};
use crate::error::OAuthError;
use crate::form::FormParams;
use crate::state::AppState;
use shared::jose::assertion::AssertionClaims;

pub async fn exchange(state: &AppState, request: &HttpRequest, form: &FormParams) -> Result<Minted, OAuthError> {
    let assertion = form.require("assertion")?;
    let audiences = requested_resources(state, form)?;
    let (mut x5t_s256, mut named) = (None, form.get("client_id").map(str::to_owned));
    if let Some(credentials) = presented_credentials(state, request, form)? {
        let authenticated = authenticate(state, request, credentials).await?;
        x5t_s256 = authenticated.certificate_thumbprint;
        named = Some(authenticated.client.client_id.to_string());
    }
    // Everything that can be refused here is, before the DPoP proof's replay entry is
    // written and before identity-service is asked.
    let claims = verify_assertion(state, assertion)?;
    // RFC 6749 §5.2 invalid_grant: a grant "issued to another client". The token goes to
    // the assertion's client, so a request naming (or authenticating as) another one is
    // refused rather than answered for someone else.
    if named.as_deref().is_some_and(|named| named != claims.client_id) {
        return Err(OAuthError::InvalidGrant(
            "the assertion was issued to another client than the one this request names".into(),
        ));
    }
    let jkt = dpop_key(state, request).await?;
    let grant = state.identity.lookup(&claims, assertion).await?;
    // Bound by the assertion's `cnf` and by the registration's key: the proof must be of
    // each (they are the same key for every assertion we issue).
    let asserted = claims.cnf.as_ref().map(|cnf| &cnf.jkt);
    for bound in [asserted, grant.bound_jkt.as_ref()].into_iter().flatten() {
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
    let scope = narrow_scope(&grant.scopes, form, &audiences, state)?;
    mint(
        state,
        TokenRequest {
            subject: &grant.subject,
            client_id: &grant.client_id,
            scope,
            audiences,
            cnf: Confirmation { jkt, x5t_s256 },
            grant_id: None,
        },
    )
}

/// Our assertion, verified with the published keys: a refusal is `invalid_grant`, as
/// identity-service answered it before; with no key received yet, a 503.
fn verify_assertion(state: &AppState, assertion: &str) -> Result<AssertionClaims, OAuthError> {
    let keys = state.keys.borrow().clone();
    if keys.published_kids().next().is_none() {
        return Err(OAuthError::TemporarilyUnavailable {
            what: "signing keys",
            cause: "no key set received from jwks-service yet".into(),
        });
    }
    state
        .assertions
        .verify(&keys, assertion, shared::jose::unix_now())
        .map_err(|rejected| {
            metrics::counter!(shared::telemetry::metrics::ASSERTION_VALIDATIONS, "outcome" => rejected.label())
                .increment(1);
            OAuthError::InvalidGrant(rejected.description().into())
        })
}
