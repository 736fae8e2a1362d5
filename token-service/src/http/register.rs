//! `POST /oauth2/register`: RFC 7591 dynamic client registration, kept for MCP clients
//! that do not publish a client ID metadata document. The policy is the operator's:
//! open, or only with an initial access token (§3, a bearer token), or off.

use actix_web::http::header::AUTHORIZATION;
use actix_web::{HttpRequest, HttpResponse, web};
use shared::audit::Actor;
use shared::jose::unix_now;

use crate::clients::registration::{self, ClientMetadata};
use crate::error::OAuthError;
use crate::settings::RegistrationPolicy;
use crate::state::AppState;

/// Hash context of the initial access token.
pub const INITIAL_ACCESS_TOKEN_CONTEXT: &str = "initial_access_token";

pub async fn register(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let policy = &state.client_registration;
    match policy.policy {
        RegistrationPolicy::Disabled => {
            return Err(OAuthError::InvalidRequest(
                "client registration is disabled on this server".into(),
            ));
        }
        RegistrationPolicy::Token => check_initial_access_token(&state, &request)?,
        RegistrationPolicy::Open => {}
    }
    let ip = shared::client_address::of(&request);
    let bucket = format!("client-registration:{ip}");
    if let Some(retry_after) = shared::ratelimit::refusal(policy.limiter.as_ref(), &bucket, policy.per_ip).await {
        return Err(OAuthError::RateLimited { retry_after });
    }
    if !shared::media::has_media_type(&request, "application", "json") {
        return Err(OAuthError::InvalidClientMetadata(
            "the registration request must be application/json (RFC 7591 §3.1)".into(),
        ));
    }
    let metadata: ClientMetadata = serde_json::from_slice(&body)
        .map_err(|e| OAuthError::InvalidClientMetadata(format!("the client metadata does not parse: {e}")))?;
    let registered = registration::register(&state, metadata, &policy.scopes, unix_now())?;
    state.clients.create(&registered.client).await?;
    let client = &registered.client;
    tracing::info!(client_id = %client.client_id, method = client.auth_method.as_str(), "client registered");
    shared::audit::record(
        "client_registered",
        Actor::Anonymous,
        client.client_id.as_str(),
        "success",
    );
    Ok(HttpResponse::Created().json(registered.response()))
}

fn check_initial_access_token(state: &AppState, request: &HttpRequest) -> Result<(), OAuthError> {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let Some(token) = presented else {
        return Err(OAuthError::InvalidToken(
            "client registration needs an initial access token (Authorization: Bearer)",
        ));
    };
    let expected = state.client_registration.initial_access_token_hash.as_deref();
    if !expected.is_some_and(|hash| state.hasher.verify(INITIAL_ACCESS_TOKEN_CONTEXT, token, hash)) {
        return Err(OAuthError::InvalidToken("the initial access token is not valid"));
    }
    Ok(())
}
