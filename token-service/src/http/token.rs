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
    Ok(HttpResponse::Ok().json(TokenResponse {
        access_token: minted.token,
        token_type: "Bearer",
        expires_in: minted.expires_in,
        scope: minted.scope.to_string(),
    }))
}
