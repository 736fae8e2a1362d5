//! `POST /agent/identity`: register an agent. Anonymous agents get an identity assertion
//! at once; agents naming a verified email get a claim handle and wait for their human.

use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use shared::time::rfc3339;

use super::json::{parse_body, require_json};
use crate::claim::{ClaimBlock, IdJagOutcome};
use crate::email::Email;
use crate::error::IdentityError;
use crate::registration::{DelegatedRegistration, Registration, RegistrationPath};
use crate::state::AppState;

pub const ID_JAG: &str = "urn:ietf:params:oauth:token-type:id-jag";
pub const VERIFIED_EMAIL: &str = "verified_email";

/// The body of `POST /agent/identity`, parsed: everything about it that can be wrong is
/// found here, before anything is counted or stored.
#[derive(Debug)]
pub enum RegistrationRequest {
    Anonymous,
    IdJag(String),
    VerifiedEmail(Email),
}

#[derive(Debug, Deserialize)]
struct RegisterBody {
    #[serde(rename = "type")]
    kind: Option<String>,
    assertion_type: Option<String>,
    assertion: Option<String>,
}

impl RegistrationRequest {
    pub fn path(&self) -> RegistrationPath {
        match self {
            Self::Anonymous => RegistrationPath::Anonymous,
            Self::IdJag(_) => RegistrationPath::IdJag,
            Self::VerifiedEmail(_) => RegistrationPath::VerifiedEmail,
        }
    }

    /// Parses the JSON body (its media type already checked).
    pub fn from_body(body: &[u8]) -> Result<Self, IdentityError> {
        let parsed: RegisterBody = parse_body(body)?;
        match parsed.kind.ok_or_else(|| missing("type"))?.as_str() {
            "anonymous" => Ok(Self::Anonymous),
            "identity_assertion" => {
                let assertion_type = parsed.assertion_type.ok_or_else(|| missing("assertion_type"))?;
                let assertion = parsed
                    .assertion
                    .filter(|a| !a.is_empty())
                    .ok_or_else(|| missing("assertion"))?;
                match assertion_type.as_str() {
                    ID_JAG => Ok(Self::IdJag(assertion)),
                    VERIFIED_EMAIL => Ok(Self::VerifiedEmail(
                        Email::parse(&assertion).map_err(|_| IdentityError::InvalidEmail)?,
                    )),
                    _ => Err(IdentityError::InvalidRequest(
                        "unsupported assertion_type; see agent_auth.identity_assertion in discovery".into(),
                    )),
                }
            }
            _ => Err(IdentityError::InvalidRequest(
                "unsupported registration type; see identity_types_supported in discovery".into(),
            )),
        }
    }
}

/// Fields every registration response carries.
#[derive(Debug, Serialize)]
struct Claimable {
    registration_id: String,
    registration_type: &'static str,
    claim_url: String,
    claim_token: String,
    claim_token_expires: String,
    post_claim_scopes: Vec<String>,
}

/// A provider-vouched agent: claimed from the start.
#[derive(Debug, Serialize)]
struct DelegatedResponse {
    registration_id: String,
    registration_type: &'static str,
    identity_assertion: String,
    assertion_expires: String,
    scopes: Vec<String>,
}

#[derive(Debug, Serialize)]
struct AnonymousResponse {
    #[serde(flatten)]
    claimable: Claimable,
    identity_assertion: String,
    assertion_expires: String,
    pre_claim_scopes: Vec<String>,
}

/// RFC 6749-style `interaction_required`: the step-up outcome, with what the agent needs
/// to have its human confirm it.
#[derive(Debug, Serialize)]
struct StepUpResponse {
    error: &'static str,
    message: &'static str,
    claim: ClaimBody,
}

#[derive(Debug, Serialize)]
struct ClaimBody {
    registration_id: String,
    claim_url: String,
    claim_token: String,
    claim_token_expires: String,
}

pub async fn register(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, IdentityError> {
    require_json(&request)?;
    let parsed = RegistrationRequest::from_body(&body)?;
    state.registrations.policy().ensure_enabled(parsed.path())?;
    let limits = &state.limits.settings;
    let ip = shared::client_address::of(&request);
    let now = shared::time::unix_now();
    let (bucket, limit) = match parsed {
        RegistrationRequest::Anonymous => ("register-anonymous", limits.anonymous_registrations_per_ip),
        _ => ("register-assertion", limits.assertion_registrations_per_ip),
    };
    state.limits.enforce(&format!("{bucket}:{ip}"), limit).await?;
    let proofs: Vec<&[u8]> = request.headers().get_all("dpop").map(|v| v.as_bytes()).collect();
    let binding = state.binding.bind(&proofs, now).await?;
    match parsed {
        RegistrationRequest::Anonymous => {
            let created = state.registrations.register_anonymous(now, binding).await?;
            let claimable = claimable(&state, &created.registration, created.claim_token);
            Ok(no_store(AnonymousResponse {
                claimable,
                identity_assertion: created.identity_assertion,
                assertion_expires: rfc3339(created.assertion_expires_at),
                pre_claim_scopes: created.registration.pre_claim_scopes.to_strings(),
            }))
        }
        RegistrationRequest::IdJag(assertion) => {
            let id_jag = state.trust.verify_id_jag(&assertion).await?;
            match state.claims.register_id_jag(id_jag, now, binding).await? {
                IdJagOutcome::Registered(created) => Ok(no_store(delegated(*created))),
                IdJagOutcome::StepUpRequired(claim) => Ok(step_up(claim)),
            }
        }
        RegistrationRequest::VerifiedEmail(email) => {
            let created = state.claims.register_verified_email(email, now, binding).await?;
            Ok(no_store(claimable(&state, &created.registration, created.claim_token)))
        }
    }
}

fn delegated(created: DelegatedRegistration) -> DelegatedResponse {
    DelegatedResponse {
        registration_id: created.registration.id.to_string(),
        registration_type: created.registration.registration_type.as_str(),
        identity_assertion: created.identity_assertion,
        assertion_expires: rfc3339(created.assertion_expires_at),
        scopes: created.registration.post_claim_scopes.to_strings(),
    }
}

/// 401 `interaction_required` (the agent cannot go on without its human), carrying the
/// claim token: never cached.
fn step_up(claim: ClaimBlock) -> HttpResponse {
    let body = StepUpResponse {
        error: "interaction_required",
        message: "the human must confirm this agent through the claim ceremony",
        claim: ClaimBody {
            registration_id: claim.registration_id,
            claim_url: claim.claim_url,
            claim_token: claim.claim_token,
            claim_token_expires: rfc3339(claim.claim_token_expires_at),
        },
    };
    shared::envelope::builder_for(actix_web::http::StatusCode::UNAUTHORIZED)
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(body)
}

fn claimable(state: &AppState, registration: &Registration, claim_token: String) -> Claimable {
    Claimable {
        registration_id: registration.id.to_string(),
        registration_type: registration.registration_type.as_str(),
        claim_url: state.url("/agent/identity/claim"),
        claim_token,
        claim_token_expires: rfc3339(registration.claim_expires_at),
        post_claim_scopes: registration.post_claim_scopes.to_strings(),
    }
}

/// Carries a secret (the claim token) and maybe a credential: never cached.
fn no_store(body: impl Serialize) -> HttpResponse {
    HttpResponse::Ok().insert_header((CACHE_CONTROL, "no-store")).json(body)
}

fn missing(field: &str) -> IdentityError {
    IdentityError::InvalidRequest(format!("missing `{field}`"))
}
