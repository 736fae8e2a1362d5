//! Provider revocation: RFC 8935 push delivery of an RFC 8417 Security Event Token at
//! `/agent/event/notify`, and the legacy `logout+jwt` form at `/agent/auth/revoke`.
//! Both revoke the registration of the delegation `(iss, sub)` they name; an event about
//! an enterprise identity provider's user (the same revocation, a CAEP session
//! revocation, a RISC account disabled or purged) revokes every grant that provider gave
//! for them by ID-JAG, so those tokens die at once.

use actix_web::{HttpRequest, HttpResponse, web};
use shared::time::unix_now;

use crate::authorize::Authorizations;
use crate::error::SetError;
use crate::providers::{EventKind, ProviderError, ProviderTrust, SecurityEvent};
use crate::registration::Registrations;

/// The event that revokes a delegation's registration.
pub const ASSERTION_REVOKED: &str = "https://schemas.workos.com/events/agent/auth/identity/assertion/revoked";
/// OpenID Back-Channel Logout's event, carried by the legacy `logout+jwt` form.
const BACKCHANNEL_LOGOUT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// Events about a provider's user that end what the provider granted for them.
pub const USER_EVENTS: [&str; 3] = [
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked",
    "https://schemas.openid.net/secevent/risc/event-type/account-disabled",
    "https://schemas.openid.net/secevent/risc/event-type/account-purged",
];

pub async fn notify(
    request: HttpRequest,
    body: web::Bytes,
    trust: web::Data<ProviderTrust>,
    registrations: web::Data<Registrations>,
    authorizations: web::Data<Authorizations>,
) -> Result<HttpResponse, SetError> {
    let now = unix_now();
    let Some(event) = verified_event(&request, &body, &trust, EventKind::SecurityEvent, now).await? else {
        return Ok(HttpResponse::Accepted().finish());
    };
    // §2.2: events we do not act on are still accepted.
    if let Some(payload) = event.event(ASSERTION_REVOKED)? {
        let subject = event.subject(Some(payload))?;
        registrations
            .revoke_delegation((&subject.iss, &subject.sub), event.issued_at(), now)
            .await?;
        revoke_provider_grants(&authorizations, &subject.iss, &subject.sub, now).await?;
    }
    for kind in USER_EVENTS {
        if let Some(payload) = event.event(kind)? {
            let subject = event.subject(Some(payload))?;
            revoke_provider_grants(&authorizations, &subject.iss, &subject.sub, now).await?;
        }
    }
    Ok(HttpResponse::Accepted().finish())
}

/// What the provider granted its user by ID-JAG ends; an outage is a 503 the
/// transmitter retries (RFC 8935 §2.4), having written nothing it would not write again.
async fn revoke_provider_grants(
    authorizations: &Authorizations,
    issuer: &str,
    subject: &str,
    now: i64,
) -> Result<(), SetError> {
    let revoked = authorizations
        .revoke_provider_grants(issuer, subject, now)
        .await
        .map_err(|e| SetError::Unavailable(e.to_string()))?;
    if revoked > 0 {
        tracing::info!(%issuer, revoked, "identity provider revoked its user's grants");
    }
    Ok(())
}

pub async fn legacy_revoke(
    request: HttpRequest,
    body: web::Bytes,
    trust: web::Data<ProviderTrust>,
    registrations: web::Data<Registrations>,
) -> Result<HttpResponse, SetError> {
    let now = unix_now();
    let Some(event) = verified_event(&request, &body, &trust, EventKind::Logout, now).await? else {
        return Ok(HttpResponse::Accepted().finish());
    };
    if event.event(BACKCHANNEL_LOGOUT).ok().flatten().is_none() {
        return Err(ProviderError::InvalidEvent("a logout token carries the back-channel logout event").into());
    }
    let subject = event.subject(None)?;
    registrations
        .revoke_delegation((&subject.iss, &subject.sub), event.issued_at(), now)
        .await?;
    Ok(HttpResponse::Accepted().finish())
}

/// The verified event token in `body`, or `None` for a duplicate delivery.
async fn verified_event(
    request: &HttpRequest,
    body: &[u8],
    trust: &ProviderTrust,
    kind: EventKind,
    now: i64,
) -> Result<Option<SecurityEvent>, SetError> {
    let subtype = kind.media_subtype();
    if !shared::media::has_media_type(request, "application", subtype) {
        return Err(SetError::invalid_request(&format!(
            "Content-Type must be application/{subtype}"
        )));
    }
    let token = std::str::from_utf8(body)
        .map_err(|_| SetError::invalid_request("the body is not a compact JWS"))?
        .trim();
    Ok(trust.verify_event(token, kind, now).await?)
}
