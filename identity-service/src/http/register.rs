//! `POST /agent/identity`: register an agent and hand it an identity assertion.

use std::time::{Duration, UNIX_EPOCH};

use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use shared::jose::unix_now;

use crate::error::IdentityError;
use crate::registration::register_anonymous;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
struct RegisterRequest {
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Debug, Serialize)]
struct AnonymousResponse {
    registration_id: String,
    registration_type: &'static str,
    identity_assertion: String,
    assertion_expires: String,
    pre_claim_scopes: Vec<String>,
    claim_url: String,
    claim_token: String,
    claim_token_expires: String,
    post_claim_scopes: Vec<String>,
}

pub async fn register(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, IdentityError> {
    require_json(&request)?;
    let parsed: RegisterRequest = serde_json::from_slice(&body)
        .map_err(|e| IdentityError::InvalidRequest(format!("body is not a valid registration request: {e}")))?;
    let kind = parsed
        .kind
        .ok_or_else(|| IdentityError::InvalidRequest("missing `type`".into()))?;
    match kind.as_str() {
        "anonymous" => register_anonymous_agent(&state).await,
        other => Err(IdentityError::InvalidRequest(format!(
            "unsupported registration type `{other}`; see identity_types_supported in discovery"
        ))),
    }
}

async fn register_anonymous_agent(state: &AppState) -> Result<HttpResponse, IdentityError> {
    let signer = state
        .keys
        .borrow()
        .signer()
        .cloned()
        .ok_or(IdentityError::KeysUnavailable)?;
    let now = unix_now();
    let created = register_anonymous(
        &state.policy,
        &state.store,
        &state.assertions,
        &signer,
        &state.hasher,
        now,
    )
    .await?;
    let registration = &created.registration;
    let body = AnonymousResponse {
        registration_id: registration.id.to_string(),
        registration_type: "anonymous",
        identity_assertion: created.identity_assertion,
        assertion_expires: rfc3339(created.assertion_expires_at),
        pre_claim_scopes: registration.pre_claim_scopes.to_strings(),
        claim_url: state.url("/agent/identity/claim"),
        claim_token: created.claim_token,
        claim_token_expires: rfc3339(registration.claim_expires_at),
        post_claim_scopes: registration.post_claim_scopes.to_strings(),
    };
    // Carries a secret (the claim token) and a credential: never cache.
    Ok(HttpResponse::Ok().insert_header((CACHE_CONTROL, "no-store")).json(body))
}

fn require_json(request: &HttpRequest) -> Result<(), IdentityError> {
    if shared::media::has_media_type(request, "application", "json") {
        Ok(())
    } else {
        Err(IdentityError::InvalidRequest(
            "Content-Type must be application/json".into(),
        ))
    }
}

fn rfc3339(unix_secs: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_secs(unix_secs.max(0) as u64);
    humantime::format_rfc3339_seconds(at).to_string()
}
