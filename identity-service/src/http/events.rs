//! Provider revocation: RFC 8935 push delivery of an RFC 8417 Security Event Token at
//! `/agent/event/notify`, and the legacy `logout+jwt` form at `/agent/auth/revoke`.
//! Both revoke the registration of the delegation `(iss, sub)` they name.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::Value;
use shared::jose::NumericDate;

use crate::error::SetError;
use crate::providers::{ProviderError, ProviderExpectations, Untyped};
use crate::registration::revoke_delegation;
use crate::state::AppState;

/// The event that revokes a delegation's registration.
pub const ASSERTION_REVOKED: &str = "https://schemas.workos.com/events/agent/auth/identity/assertion/revoked";
/// OpenID Back-Channel Logout's event, carried by the legacy `logout+jwt` form.
const BACKCHANNEL_LOGOUT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// How long a SET's `jti` is remembered for de-duplication (transmitters retry for days).
const DEDUP_SECS: i64 = 7 * 24 * 3600;

pub async fn notify(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, SetError> {
    let Some(claims) = verified_event(&request, &body, &state, "secevent+jwt").await? else {
        return Ok(HttpResponse::Accepted().finish());
    };
    let events = claims["events"]
        .as_object()
        .ok_or_else(|| SetError::invalid_request("missing `events`"))?;
    // §2.2: events we do not act on are still accepted.
    if let Some(event) = events.get(ASSERTION_REVOKED) {
        let (iss, sub) = subject(&claims, event)?;
        revoke_delegation(&state, &iss, &sub, issued_at(&claims)?, state.now()).await?;
    }
    Ok(HttpResponse::Accepted().finish())
}

pub async fn legacy_revoke(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, SetError> {
    let Some(claims) = verified_event(&request, &body, &state, "logout+jwt").await? else {
        return Ok(HttpResponse::Accepted().finish());
    };
    if claims["events"].get(BACKCHANNEL_LOGOUT).is_none() {
        return Err(SetError::invalid_request(
            "a logout token carries the back-channel logout event",
        ));
    }
    let (iss, sub) = subject(&claims, &Value::Null)?;
    revoke_delegation(&state, &iss, &sub, issued_at(&claims)?, state.now()).await?;
    Ok(HttpResponse::Accepted().finish())
}

/// The verified claims of a provider-signed event token, or `None` for a duplicate
/// delivery (its `jti` was seen: already applied, still acknowledged).
async fn verified_event(
    request: &HttpRequest,
    body: &[u8],
    state: &AppState,
    subtype: &'static str,
) -> Result<Option<Value>, SetError> {
    if !shared::media::has_media_type(request, "application", subtype) {
        return Err(SetError::invalid_request(&format!(
            "Content-Type must be application/{subtype}"
        )));
    }
    let token = std::str::from_utf8(body)
        .map_err(|_| SetError::invalid_request("the body is not a compact JWS"))?
        .trim();
    let expect = ProviderExpectations {
        audience: state.issuer.clone(),
        typ: subtype,
        untyped: Untyped::Refused,
        require_exp: false,
        max_lifetime: None,
        leeway: state.assertions.leeway(),
    };
    let (_, claims) = state
        .providers
        .verify::<Value>(token, &expect)
        .await
        .map_err(set_error)?;
    let iss = claims["iss"].as_str().unwrap_or_default().to_owned();
    let jti = claims["jti"]
        .as_str()
        .filter(|j| !j.is_empty())
        .ok_or_else(|| SetError::invalid_request("missing `jti`"))?;
    if !state.replay.first_use(&iss, jti, state.now() + DEDUP_SECS).await? {
        tracing::info!("duplicate security event ignored");
        return Ok(None);
    }
    Ok(Some(claims))
}

/// The `(iss, sub)` an event is about: its `subject` (RFC 9493 `iss_sub`) or the token's
/// own `sub`. A provider may only speak for its own users.
fn subject(claims: &Value, event: &Value) -> Result<(String, String), SetError> {
    let iss = claims["iss"].as_str().unwrap_or_default();
    let subject = &event["subject"];
    let sub = subject["sub"].as_str().or_else(|| claims["sub"].as_str());
    let subject_iss = subject["iss"].as_str().unwrap_or(iss);
    if subject_iss != iss {
        return Err(SetError::InvalidIssuer(
            "an event may only name its own issuer's subjects".into(),
        ));
    }
    let sub = sub
        .filter(|s| !s.is_empty())
        .ok_or_else(|| SetError::invalid_request("the event names no subject"))?;
    Ok((iss.to_owned(), sub.to_owned()))
}

/// The event's `iat`, already checked to be a NumericDate in range and not in the future.
fn issued_at(claims: &Value) -> Result<i64, SetError> {
    NumericDate::deserialize(&claims["iat"])
        .map(NumericDate::secs)
        .map_err(|_| SetError::invalid_request("`iat` must be a NumericDate"))
}

fn set_error(error: ProviderError) -> SetError {
    let message = error.to_string();
    match error {
        ProviderError::Malformed(_)
        | ProviderError::WrongType
        | ProviderError::Expired
        | ProviderError::UnsupportedCritical
        | ProviderError::LifetimeTooLong => SetError::InvalidRequest(message),
        ProviderError::UntrustedIssuer(_) => SetError::InvalidIssuer(message),
        ProviderError::UnknownKey(_) => SetError::InvalidKey(message),
        ProviderError::InvalidSignature => SetError::AuthenticationFailed(message),
        ProviderError::InvalidAudience => SetError::InvalidAudience(message),
        ProviderError::KeysUnavailable(cause) => SetError::Unavailable(cause),
    }
}
