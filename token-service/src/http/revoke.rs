//! `POST /oauth2/revoke` (RFC 7009).
//!
//! §2.1: credentials, when sent, are checked first; then the token must have been issued
//! to the caller. A token of a confidential client is revoked only by that client,
//! authenticated (`invalid_client` otherwise); a token of another client is refused with
//! `unauthorized_client`. Public clients (agents, `none` clients, metadata document
//! clients without keys) revoke their own tokens with the token alone. A refresh token
//! takes its whole family with it (RFC 7009 §2.1: and may take the access tokens).

use actix_web::{HttpRequest, HttpResponse, web};
use shared::audit::Actor;
use shared::jose::unix_now;

use crate::clients::metadata_document::MetadataDocuments;
use crate::clients::{AuthMethod, ClientId, authenticate, presented_credentials};
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
    if let Some(family) = state.refresh.current(token).await? {
        let actor = Actor::Client(&family.client_id);
        let confidential = is_confidential(&state, &family.client_id).await?;
        if let Err(refused) = may_revoke(&caller, &family.client_id, confidential) {
            shared::audit::record("refresh_revoked", actor, &family.subject, refused.code());
            return Err(refused);
        }
        state.refresh.revoke(family, unix_now()).await?;
        return Ok(HttpResponse::Ok().finish());
    }
    let keys = state.keys.borrow().clone();
    // §2.2: an invalid, expired or foreign token still gets 200; there is nothing to do.
    let Ok(claims) = state.access_tokens.verify(&keys, token) else {
        return Ok(HttpResponse::Ok().finish());
    };
    let actor = match &caller {
        Caller::Authenticated(id) => Actor::Client(id.as_str()),
        Caller::Public(_) => Actor::Client(&claims.client_id),
    };
    let confidential = is_confidential(&state, &claims.client_id).await?;
    if let Err(refused) = may_revoke(&caller, &claims.client_id, confidential) {
        shared::audit::record("token_revoked", actor, &claims.sub, refused.code());
        return Err(refused);
    }
    if claims.exp > unix_now() {
        state.denylist.deny(&claims.jti, claims.exp).await?;
        shared::audit::record("token_revoked", actor, &claims.sub, "success");
    }
    Ok(HttpResponse::Ok().finish())
}

/// Whether the client a token was issued to must authenticate: a registered client with
/// credentials, or a metadata document client with keys. Agents, `none` clients and
/// clients no longer known are public (a deleted client's tokens are dead anyway).
async fn is_confidential(state: &AppState, issued_to: &str) -> Result<bool, OAuthError> {
    if let Ok(id) = ClientId::parse(issued_to) {
        let client = state.clients.get(&id).await?;
        return Ok(client.is_some_and(|c| c.auth_method != AuthMethod::None));
    }
    if MetadataDocuments::is_document_id(issued_to) {
        return Ok(state
            .documents
            .resolve(issued_to)
            .await
            .is_ok_and(|document| document.jwks_uri.is_some()));
    }
    Ok(false)
}

fn may_revoke(caller: &Caller<'_>, issued_to: &str, confidential: bool) -> Result<(), OAuthError> {
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
