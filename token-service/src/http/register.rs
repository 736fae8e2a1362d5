//! `POST /oauth2/register`: RFC 7591 dynamic client registration, kept for MCP clients
//! that do not publish a client ID metadata document. [`ClientRegistrar`] decides who
//! may register and what a registration becomes.

use actix_web::http::header::AUTHORIZATION;
use actix_web::{HttpRequest, HttpResponse, web};
use shared::audit::Actor;
use shared::time::unix_now;

use crate::error::OAuthError;
use crate::registration::ClientRegistrar;
use crate::registration::metadata::ClientMetadata;

pub async fn register(
    request: HttpRequest,
    body: web::Bytes,
    registrar: web::Data<ClientRegistrar>,
) -> Result<HttpResponse, OAuthError> {
    let ip = shared::client_address::of(&request);
    registrar.admit(bearer_token(&request), &ip).await?;
    if !shared::media::has_media_type(&request, "application", "json") {
        return Err(OAuthError::InvalidClientMetadata(
            "the registration request must be application/json (RFC 7591 §3.1)".into(),
        ));
    }
    let metadata: ClientMetadata = serde_json::from_slice(&body)
        .map_err(|e| OAuthError::InvalidClientMetadata(format!("the client metadata does not parse: {e}")))?;
    let registered = registrar.register(metadata, unix_now()).await?;
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

/// RFC 6750 §2.1: the bearer token of `Authorization`, if it carries one.
fn bearer_token(request: &HttpRequest) -> Option<&str> {
    request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
}
