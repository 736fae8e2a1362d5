//! The agent's side of the claim ceremony: start it for a human's email, complete it
//! with the code the human read back.

use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use shared::time::rfc3339;
use shared::time::unix_now;

use super::json::parse_json;
use crate::claim::ClaimCeremony;
use crate::error::IdentityError;

#[derive(Debug, Deserialize)]
struct StartRequest {
    claim_token: Option<String>,
    email: Option<String>,
}

#[derive(Debug, Serialize)]
struct StartResponse {
    registration_id: String,
    claim_attempt_id: String,
    status: &'static str,
    expires_at: String,
}

#[derive(Debug, Deserialize)]
struct CompleteRequest {
    claim_token: Option<String>,
    otp: Option<String>,
}

#[derive(Debug, Serialize)]
struct CompleteResponse {
    registration_id: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    identity_assertion: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assertion_expires: Option<String>,
}

fn required(value: Option<String>, name: &str) -> Result<String, IdentityError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| IdentityError::InvalidRequest(format!("missing `{name}`")))
}

pub async fn start(
    request: HttpRequest,
    body: web::Bytes,
    claims: web::Data<ClaimCeremony>,
) -> Result<HttpResponse, IdentityError> {
    let parsed: StartRequest = parse_json(&request, &body)?;
    let claim_token = required(parsed.claim_token, "claim_token")?;
    let email = required(parsed.email, "email")?;
    let started = claims.start(&claim_token, &email, unix_now()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(StartResponse {
            registration_id: started.registration_id,
            claim_attempt_id: started.attempt_id,
            status: "initiated",
            expires_at: rfc3339(started.link_expires_at),
        }))
}

pub async fn complete(
    request: HttpRequest,
    body: web::Bytes,
    claims: web::Data<ClaimCeremony>,
) -> Result<HttpResponse, IdentityError> {
    let parsed: CompleteRequest = parse_json(&request, &body)?;
    let claim_token = required(parsed.claim_token, "claim_token")?;
    let otp = required(parsed.otp, "otp")?;
    let completed = claims.complete(&claim_token, &otp, unix_now()).await?;
    let (registration, assertion) = (completed.registration, completed.assertion);
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(CompleteResponse {
            registration_id: registration.id.to_string(),
            status: "claimed",
            assertion_expires: assertion.as_ref().map(|(_, exp)| rfc3339(*exp)),
            identity_assertion: assertion.map(|(token, _)| token),
        }))
}
