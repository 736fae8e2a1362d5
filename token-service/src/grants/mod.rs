//! The grants `/oauth2/token` serves, and what they share:
//!
//! - scope: a requested `scope` narrows what may be granted; nothing left is
//!   `invalid_scope`;
//! - resource indicators (RFC 8707): each `resource` must be a configured protected
//!   resource, becomes the token's `aud`, and narrows the scope to what it supports;
//! - DPoP (RFC 9449 §5): a valid proof binds the token to its key (`cnf.jkt`);
//! - a human's grant (authorization code, refresh token): audiences within what the
//!   human approved.

mod authorization_code;
mod client_credentials;
mod jwt_bearer;
mod refresh_token;

use std::sync::Arc;

use actix_web::HttpRequest;
use shared::jose::SigningKey;
use shared::jose::dpop::{DpopError, ProofTarget};
use shared::oauth::grant_type::{AUTHORIZATION_CODE, CLIENT_CREDENTIALS, JWT_BEARER, REFRESH_TOKEN};
use shared::scope::ScopeSet;

use crate::access_token::{Minted, TokenRequest};
use crate::error::OAuthError;
use crate::form::FormParams;
use crate::state::AppState;

/// The grant a request asks for, as a metric label: a fixed set.
pub fn grant_label(form: &FormParams) -> &'static str {
    match form.get("grant_type") {
        Some(JWT_BEARER) => "jwt-bearer",
        Some(CLIENT_CREDENTIALS) => "client_credentials",
        Some(AUTHORIZATION_CODE) => "authorization_code",
        Some(REFRESH_TOKEN) => "refresh_token",
        Some(_) => "unsupported",
        None => "none",
    }
}

pub async fn exchange(state: &AppState, request: &HttpRequest, form: &FormParams) -> Result<Minted, OAuthError> {
    match form.require("grant_type")? {
        JWT_BEARER => jwt_bearer::exchange(state, request, form).await,
        CLIENT_CREDENTIALS => client_credentials::exchange(state, request, form).await,
        AUTHORIZATION_CODE => authorization_code::exchange(state, request, form).await,
        REFRESH_TOKEN => refresh_token::exchange(state, request, form).await,
        _ => Err(OAuthError::UnsupportedGrantType),
    }
}

/// `grantable` narrowed by the request's `scope`, if any (RFC 6749 §3.3), then by what
/// each requested resource supports.
fn narrow_scope(
    grantable: &ScopeSet,
    form: &FormParams,
    audiences: &[String],
    state: &AppState,
) -> Result<ScopeSet, OAuthError> {
    let mut granted = match form.get("scope") {
        None => grantable.clone(),
        Some(raw) => {
            // The offending token is the client's input: described, never echoed.
            let requested = ScopeSet::parse(raw).map_err(|_| {
                OAuthError::InvalidScope("`scope` must be scope tokens separated by single spaces".into())
            })?;
            grantable.intersection(&requested)
        }
    };
    for resource in state.resources.iter().filter(|r| audiences.contains(&r.resource)) {
        if !resource.scopes_supported.is_empty() {
            let supported = ScopeSet::from_tokens(&resource.scopes_supported)
                .map_err(|e| OAuthError::ServerError(format!("protected resource scopes: {e}")))?;
            granted = granted.intersection(&supported);
        }
    }
    if granted.is_empty() {
        return Err(OAuthError::InvalidScope(
            "none of the requested scopes may be granted (for the requested resources)".into(),
        ));
    }
    Ok(granted)
}

/// RFC 8707 §2: the audiences the `resource` parameters select; none: the default.
fn requested_resources(state: &AppState, form: &FormParams) -> Result<Vec<String>, OAuthError> {
    let mut audiences: Vec<String> = Vec::new();
    for raw in form.get_all("resource") {
        let absolute = url::Url::parse(raw).is_ok_and(|u| u.fragment().is_none());
        if !absolute {
            return Err(OAuthError::InvalidTarget(
                "`resource` must be an absolute URI without a fragment",
            ));
        }
        if !state.resources.iter().any(|r| r.resource == raw) {
            return Err(OAuthError::InvalidTarget(
                "the requested resource is not one this server issues tokens for",
            ));
        }
        if !audiences.iter().any(|a| a == raw) {
            audiences.push(raw.to_owned());
        }
    }
    Ok(audiences)
}

/// RFC 8707 §2.2 for a human's grant: the token's audiences are the resources the human
/// approved, or the fewer a token request names; never others.
fn approved_audiences(
    state: &AppState,
    requested: Vec<String>,
    approved: &[String],
) -> Result<Vec<String>, OAuthError> {
    let audiences = if requested.is_empty() {
        approved.to_vec()
    } else if requested.iter().all(|r| approved.contains(r)) {
        requested
    } else {
        return Err(OAuthError::InvalidTarget(
            "a requested resource is not one the human approved",
        ));
    };
    if !audiences
        .iter()
        .all(|a| state.resources.iter().any(|r| r.resource == *a))
    {
        return Err(OAuthError::InvalidTarget(
            "the approved resource is not one this server issues tokens for",
        ));
    }
    Ok(audiences)
}

/// The key a token request proves possession of (RFC 9449 §4.3), once: its proof's
/// `jti` is recorded so no replica accepts it again. No `DPoP` header: `None`.
async fn dpop_key(state: &AppState, request: &HttpRequest) -> Result<Option<String>, OAuthError> {
    let mut proofs = request.headers().get_all("dpop");
    let Some(proof) = proofs.next() else {
        return Ok(None);
    };
    // §5: a server that does not do DPoP issues a Bearer token and ignores the header.
    let Some(verifier) = &state.dpop else {
        return Ok(None);
    };
    if proofs.next().is_some() {
        return Err(OAuthError::InvalidDpopProof("send exactly one DPoP header".into()));
    }
    let proof = proof
        .to_str()
        .map_err(|_| OAuthError::InvalidDpopProof("the DPoP header is not a compact JWS".into()))?;
    let now = shared::jose::unix_now();
    let target = ProofTarget {
        method: "POST",
        urls: &state.token_endpoint_urls,
        access_token: None,
    };
    let checked = verifier
        .verify(proof, target, now)
        .map_err(|e| dpop_error(state, e, now))?;
    let namespace = format!("dpop:{}", checked.jkt);
    if !state
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

pub(crate) fn dpop_error(state: &AppState, error: DpopError, now: i64) -> OAuthError {
    match (error, state.dpop.as_ref().and_then(|v| v.nonces())) {
        (DpopError::UseNonce, Some(nonces)) => OAuthError::UseDpopNonce {
            nonce: nonces.issue(now),
        },
        (DpopError::UseNonce, None) => OAuthError::InvalidDpopProof("the DPoP proof's nonce is not current".into()),
        (DpopError::Invalid(reason), _) => OAuthError::InvalidDpopProof(reason),
    }
}

fn signer(state: &AppState, now: i64) -> Result<Arc<SigningKey>, OAuthError> {
    state
        .keys
        .borrow()
        .signer_at(now)
        .cloned()
        .ok_or(OAuthError::TemporarilyUnavailable {
            what: "token signing",
            cause: "no current signing key from jwks-service (none yet, or past its retirement)".into(),
        })
}

fn mint(state: &AppState, request: TokenRequest<'_>) -> Result<Minted, OAuthError> {
    let now = shared::jose::unix_now();
    let signer = signer(state, now)?;
    let (client_id, subject) = (request.client_id, request.subject);
    let minted = state
        .access_tokens
        .mint(&signer, request, now)
        .map_err(|e| OAuthError::ServerError(e.to_string()))?;
    shared::audit::record(
        "token_issued",
        shared::audit::Actor::Client(client_id),
        subject,
        "success",
    );
    Ok(minted)
}
