//! `POST /oauth2/revoke` (RFC 7009).
//!
//! §2.1: credentials, when sent, are checked first; then the token must have been issued
//! to the caller. A token of a confidential client (every machine client) is revoked only
//! by that client, authenticated (`invalid_client` otherwise); a token of another client
//! is refused with `unauthorized_client`. Agents are public clients and revoke their own
//! tokens with the token alone.

use actix_web::{HttpRequest, HttpResponse, web};
use shared::audit::Actor;
use shared::jose::unix_now;

use crate::clients::{ClientId, authenticate, presented_credentials};
use crate::error::OAuthError;
use crate::form::FormParams;
use crate::state::AppState;

/// Who asks for the revocation.
#[derive(Debug)]
enum Caller<'a> {
    Authenticated(ClientId),
    /// A public client, which may name itself with `client_id` but proves nothing.
    Public(Option<&'a str>),
}

pub async fn revoke(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let form = FormParams::parse(&request, &body)?;
    let token = form.require("token")?;
    let caller = match presented_credentials(&state, &request, &form)? {
        Some(credentials) => Caller::Authenticated(authenticate(&state, &request, credentials).await?.client.client_id),
        None => Caller::Public(form.get("client_id")),
    };
    let keys = state.keys.borrow().clone();
    // §2.2: an invalid, expired or foreign token still gets 200; there is nothing to do.
    let Ok(claims) = state.access_tokens.verify(&keys, token) else {
        return Ok(HttpResponse::Ok().finish());
    };
    let actor = match &caller {
        Caller::Authenticated(id) => Actor::Client(id.as_str()),
        Caller::Public(_) => Actor::Client(&claims.client_id),
    };
    if let Err(refused) = may_revoke(&caller, &claims.client_id) {
        shared::audit::record("token_revoked", actor, &claims.sub, refused.code());
        return Err(refused);
    }
    if claims.exp > unix_now() {
        state.denylist.deny(&claims.jti, claims.exp).await?;
        shared::audit::record("token_revoked", actor, &claims.sub, "success");
    }
    Ok(HttpResponse::Ok().finish())
}

fn may_revoke(caller: &Caller<'_>, issued_to: &str) -> Result<(), OAuthError> {
    let confidential = ClientId::parse(issued_to).is_ok();
    match caller {
        Caller::Authenticated(id) if id.as_str() == issued_to => Ok(()),
        Caller::Authenticated(_) => Err(OAuthError::UnauthorizedClient(
            "this token was issued to another client",
        )),
        Caller::Public(_) if confidential => Err(OAuthError::InvalidClient(
            "this token was issued to a confidential client, which must authenticate to revoke it",
        )),
        Caller::Public(Some(named)) if *named != issued_to => Err(OAuthError::UnauthorizedClient(
            "this token was issued to another client",
        )),
        Caller::Public(_) => Ok(()),
    }
}
