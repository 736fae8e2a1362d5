//! `POST /oauth2/revoke` (RFC 7009).

use actix_web::{HttpRequest, HttpResponse, web};
use shared::jose::unix_now;

use crate::clients::{authenticate, presented_credentials};
use crate::error::OAuthError;
use crate::form::FormParams;
use crate::state::AppState;

pub async fn revoke(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let form = FormParams::parse(&request, &body)?;
    let token = form.require("token")?;
    // Public clients (agents) revoke with the token alone; a client that authenticates
    // must do so correctly (§2.1).
    let client = match presented_credentials(&request, &form)? {
        Some(credentials) => Some(authenticate(&state, &credentials).await?),
        None => None,
    };
    let keys = state.keys.borrow().clone();
    // §2.2: an invalid, expired or foreign token still gets 200; there is nothing to do.
    let Ok(claims) = state.access_tokens.verify(&keys, token) else {
        return Ok(HttpResponse::Ok().finish());
    };
    // §2.1: a client may only revoke its own tokens; others are ignored, not revealed.
    if client.is_some_and(|c| c.client_id.as_str() != claims.client_id) {
        return Ok(HttpResponse::Ok().finish());
    }
    if claims.exp > unix_now() {
        state.denylist.deny(&claims.jti, claims.exp).await?;
        tracing::info!(audit = "token_revoked", sub = %claims.sub, client_id = %claims.client_id, "access token revoked");
    }
    Ok(HttpResponse::Ok().finish())
}
