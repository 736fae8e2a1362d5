//! RFC 6749 §4.4: a confidential machine client authenticates and gets a token for
//! itself (RFC 9068 §2.2: `sub` is the client id).

use actix_web::HttpRequest;

use super::{mint, narrow_scope};
use crate::access_token::Minted;
use crate::clients::{authenticate, presented_credentials};
use crate::error::OAuthError;
use crate::form::FormParams;
use crate::state::AppState;

pub async fn exchange(state: &AppState, request: &HttpRequest, form: &FormParams) -> Result<Minted, OAuthError> {
    let credentials = presented_credentials(request, form)?.ok_or(OAuthError::InvalidClient(
        "client authentication is required for client_credentials",
    ))?;
    let client = authenticate(state, &credentials).await?;
    let scope = narrow_scope(&client.allowed_scopes, form)?;
    let id = client.client_id.as_str();
    mint(state, id, id, scope)
}
