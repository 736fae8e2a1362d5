//! The grants `/oauth2/token` serves, and the scope rule they share: a requested `scope`
//! narrows what may be granted; nothing left is `invalid_scope`.

mod client_credentials;
mod jwt_bearer;

use std::sync::Arc;

use actix_web::HttpRequest;
use shared::jose::SigningKey;
use shared::scope::ScopeSet;

use crate::access_token::Minted;
use crate::error::OAuthError;
use crate::form::FormParams;
use crate::state::AppState;

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
pub const CLIENT_CREDENTIALS: &str = "client_credentials";

/// The grant a request asks for, as a metric label: a fixed set.
pub fn grant_label(form: &FormParams) -> &'static str {
    match form.get("grant_type") {
        Some(JWT_BEARER) => "jwt-bearer",
        Some(CLIENT_CREDENTIALS) => "client_credentials",
        Some(_) => "unsupported",
        None => "none",
    }
}

pub async fn exchange(state: &AppState, request: &HttpRequest, form: &FormParams) -> Result<Minted, OAuthError> {
    match form.require("grant_type")? {
        JWT_BEARER => jwt_bearer::exchange(state, request, form).await,
        CLIENT_CREDENTIALS => client_credentials::exchange(state, request, form).await,
        _ => Err(OAuthError::UnsupportedGrantType),
    }
}

/// `grantable` narrowed by the request's `scope`, if any (RFC 6749 §3.3).
fn narrow_scope(grantable: &ScopeSet, form: &FormParams) -> Result<ScopeSet, OAuthError> {
    let granted = match form.get("scope") {
        None => grantable.clone(),
        Some(raw) => {
            // The offending token is the client's input: described, never echoed.
            let requested = ScopeSet::parse(raw).map_err(|_| {
                OAuthError::InvalidScope("`scope` must be scope tokens separated by single spaces".into())
            })?;
            grantable.intersection(&requested)
        }
    };
    if granted.is_empty() {
        return Err(OAuthError::InvalidScope(
            "none of the requested scopes may be granted".into(),
        ));
    }
    Ok(granted)
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

fn mint(state: &AppState, subject: &str, client_id: &str, scope: ScopeSet) -> Result<Minted, OAuthError> {
    let now = shared::jose::unix_now();
    let signer = signer(state, now)?;
    let minted = state
        .access_tokens
        .mint(&signer, subject, client_id, scope, now)
        .map_err(|e| OAuthError::ServerError(e.to_string()))?;
    shared::audit::record(
        "token_issued",
        shared::audit::Actor::Client(client_id),
        subject,
        "success",
    );
    Ok(minted)
}
