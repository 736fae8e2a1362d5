//! `POST /oauth2/token` (RFC 6749 §3.2, §5.1).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use shared::audit::Actor;

use crate::error::OAuthError;
use crate::form::FormParams;
use crate::grants;
use crate::state::AppState;

#[derive(Debug, Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

pub async fn token(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let form = FormParams::parse(&request, &body)?;
    let grant = grants::grant_label(&form);
    let outcome = grants::exchange(&state, &request, &form).await;
    let code = outcome.as_ref().map_or_else(OAuthError::code, |_| "success");
    metrics::counter!(shared::telemetry::metrics::TOKENS_ISSUED, "grant" => grant, "outcome" => code).increment(1);
    let minted = outcome.inspect_err(|error| {
        let actor = form.get("client_id").map_or(Actor::Anonymous, Actor::Client);
        shared::audit::record("token_refused", actor, grant, error.code());
    })?;
    let mut response = HttpResponse::Ok();
    // §8.2: a fresh nonce with every success, so a client never has to fail to get one.
    if let Some(nonces) = state.dpop.as_ref().and_then(|d| d.nonces()) {
        response.insert_header((crate::error::DPOP_NONCE, nonces.issue(shared::jose::unix_now())));
    }
    Ok(response.json(TokenResponse {
        access_token: minted.token,
        token_type: minted.token_type,
        expires_in: minted.expires_in,
        scope: minted.scope.to_string(),
        refresh_token: minted.refresh_token,
    }))
}
