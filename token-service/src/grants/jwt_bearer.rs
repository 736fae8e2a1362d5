//! RFC 7523 §2.1: an identity assertion as authorization grant. Agents are public
//! clients; credentials, when a client does send them, must still be right.

use actix_web::HttpRequest;

use super::{mint, narrow_scope};
use crate::access_token::Minted;
use crate::clients::{authenticate, presented_credentials};
use crate::error::OAuthError;
use crate::form::FormParams;
use crate::state::AppState;

pub async fn exchange(state: &AppState, request: &HttpRequest, form: &FormParams) -> Result<Minted, OAuthError> {
    let assertion = form.require("assertion")?;
    if let Some(credentials) = presented_credentials(request, form)? {
        authenticate(state, &credentials).await?;
    }
    let grant = state.identity.validate(assertion).await?;
    let scope = narrow_scope(&grant.scopes, form)?;
    mint(state, &grant.subject, &grant.client_id, scope)
}
