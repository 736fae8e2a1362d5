//! `POST /agent/identity`: register an agent. Anonymous agents get an identity assertion
//! at once; agents naming a verified email get a claim handle and wait for their human.

use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::json::{parse_body, require_json, rfc3339};
use shared::jose::dpop::ProofTarget;

use crate::email::Email;
use crate::error::IdentityError;
use crate::registration::{Registration, register_anonymous, register_id_jag, register_verified_email};
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

pub async fn register(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, IdentityError> {
    require_json(&request)?;
    let parsed = RegistrationRequest::from_body(&body)?;
    let ip = client_ip(&request, state.limits.trust_forwarded_for);
    let now = state.now();
    let (bucket, limit) = match parsed {
        RegistrationRequest::Anonymous => ("register-anonymous", state.limits.anonymous_registrations_per_ip),
        _ => ("register-assertion", state.limits.assertion_registrations_per_ip),
    };
    state.enforce_limit(&format!("{bucket}:{ip}"), limit).await?;
    let binding = dpop_binding(&state, &request, now).await?;
    match parsed {
        RegistrationRequest::Anonymous => {
            let created = register_anonymous(&state, now, binding).await?;
            let claimable = claimable(&state, &created.registration, created.claim_token);
            Ok(no_store(AnonymousResponse {
                claimable,
                identity_assertion: created.identity_assertion,
                assertion_expires: rfc3339(created.assertion_expires_at),
                pre_claim_scopes: created.registration.pre_claim_scopes.to_strings(),
            }))
        }
        RegistrationRequest::IdJag(assertion) => {
            let created = register_id_jag(&state, &assertion, now, binding).await?;
            Ok(no_store(DelegatedResponse {
                registration_id: created.registration.id.to_string(),
                registration_type: created.registration.registration_type.as_str(),
                identity_assertion: created.identity_assertion,
                assertion_expires: rfc3339(created.assertion_expires_at),
                scopes: created.registration.post_claim_scopes.to_strings(),
            }))
        }
        RegistrationRequest::VerifiedEmail(email) => {
            let created = register_verified_email(&state, email, now, binding).await?;
            Ok(no_store(claimable(&state, &created.registration, created.claim_token)))
        }
    }
}

/// The DPoP key a registration proves (RFC 9449 §4.3, `htu` this endpoint), once: the
/// proof's `jti` is recorded so no replica takes it again. Its assertions are bound to
/// the key, so a stolen assertion cannot be exchanged without it.
async fn dpop_binding(state: &AppState, request: &HttpRequest, now: i64) -> Result<Option<String>, IdentityError> {
    let mut proofs = request.headers().get_all("dpop");
    let (proof, verifier) = match (proofs.next(), proofs.next(), &state.dpop) {
        (Some(_), Some(_), Some(_)) => {
            return Err(IdentityError::InvalidDpopProof("send exactly one DPoP header".into()));
        }
        (Some(proof), None, Some(verifier)) => (proof, verifier),
        _ if state.policy.require_dpop => {
            return Err(IdentityError::InvalidDpopProof(
                "this server binds every registration to a key: send a DPoP proof (RFC 9449)".into(),
            ));
        }
        // No proof, or DPoP disabled (a proof is then ignored, RFC 9449 §5).
        _ => return Ok(None),
    };
    let proof = proof
        .to_str()
        .map_err(|_| IdentityError::InvalidDpopProof("the DPoP header is not a compact JWS".into()))?;
    let urls = [state.url("/agent/identity")];
    let target = ProofTarget {
        method: "POST",
        urls: &urls,
        access_token: None,
    };
    let checked = verifier
        .verify(proof, target, now)
        .map_err(|e| IdentityError::InvalidDpopProof(e.to_string()))?;
    if !state
        .replay
        .first_use(
            &format!("dpop:{}", checked.jkt),
            &checked.jti,
            verifier.replay_until(&checked),
        )
        .await?
    {
        return Err(IdentityError::InvalidDpopProof(
            "this DPoP proof was already used".into(),
        ));
    }
    Ok(Some(checked.jkt))
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

/// The client address rate limits count by: the peer, or what the ingress reports when
/// the operator says the ingress overwrites `Forwarded` / `X-Forwarded-For`.
fn client_ip(request: &HttpRequest, trust_forwarded_for: bool) -> String {
    let info = request.connection_info();
    let address = if trust_forwarded_for {
        info.realip_remote_addr()
    } else {
        info.peer_addr()
    };
    address.unwrap_or("unknown").to_owned()
}
