//! The claims of provider tokens we act on, typed: read right after the signature is
//! verified, never indexed as loose JSON.

use std::collections::BTreeMap;

use protocol::jose::NumericDate;
use serde::Deserialize;

use crate::email::Email;
use crate::error::ProviderError;

/// An ID-JAG's claims as they arrive (the draft's §3 claims we use).
#[derive(Debug, Deserialize)]
pub(super) struct IdJagClaims {
    pub iss: String,
    pub sub: String,
    pub jti: String,
    pub iat: NumericDate,
    pub exp: NumericDate,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub email_verified: Option<bool>,
}

/// A verified, first-seen ID-JAG: the provider's user and the email it verified.
#[derive(Debug, Clone)]
pub struct IdJag {
    pub iss: String,
    pub sub: String,
    /// Its `iat`: a revocation with a later cutoff overrides what it asserted.
    pub issued_at: i64,
    pub email: Email,
}

impl IdJagClaims {
    /// Every identifier present, so the replay record and the delegation have a key.
    pub fn require_ids(&self) -> Result<(), ProviderError> {
        for (name, value) in [("iss", &self.iss), ("sub", &self.sub), ("jti", &self.jti)] {
            if value.is_empty() {
                return Err(ProviderError::MissingClaim(name));
            }
        }
        Ok(())
    }

    /// The user, if the provider verified their email.
    pub fn into_id_jag(self) -> Result<IdJag, ProviderError> {
        if self.email_verified != Some(true) {
            return Err(ProviderError::MissingVerifiedEmail);
        }
        let email = self
            .email
            .as_deref()
            .and_then(|e| Email::parse(e).ok())
            .ok_or(ProviderError::MissingVerifiedEmail)?;
        Ok(IdJag {
            iss: self.iss,
            sub: self.sub,
            issued_at: self.iat.secs(),
            email,
        })
    }
}

/// A Security Event Token (RFC 8417 §2.2), or an OpenID back-channel logout token,
/// which has the same shape.
#[derive(Debug, Deserialize)]
pub struct SecurityEvent {
    pub iss: String,
    #[serde(default)]
    pub sub: Option<String>,
    #[serde(default)]
    pub jti: Option<String>,
    pub iat: NumericDate,
    #[serde(default)]
    pub events: Option<BTreeMap<String, EventPayload>>,
    /// The Shared Signals Framework's top-level subject (CAEP and RISC events name it
    /// here rather than in the payload).
    #[serde(default)]
    pub sub_id: Option<SubjectIdentifier>,
}

/// One event's payload; only its subject matters to us (§2.2: other members are ignored).
#[derive(Debug, Default, Deserialize)]
pub struct EventPayload {
    #[serde(default)]
    pub subject: Option<SubjectIdentifier>,
}

/// RFC 9493 `iss_sub` subject identifier (other formats name no delegation).
#[derive(Debug, Deserialize)]
pub struct SubjectIdentifier {
    #[serde(default)]
    pub iss: Option<String>,
    #[serde(default)]
    pub sub: Option<String>,
}

/// The delegation `(iss, sub)` an event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSubject {
    pub iss: String,
    pub sub: String,
}

impl SecurityEvent {
    /// The payload of `event`, if the token carries it (`InvalidEvent` without `events`).
    pub fn event(&self, event: &str) -> Result<Option<&EventPayload>, ProviderError> {
        let events = self
            .events
            .as_ref()
            .ok_or(ProviderError::InvalidEvent("missing `events`"))?;
        Ok(events.get(event))
    }

    /// Who `payload` is about: its `subject`, the token's `sub_id`, or its own `sub`. A
    /// provider may only speak for its own users.
    pub fn subject(&self, payload: Option<&EventPayload>) -> Result<EventSubject, ProviderError> {
        let subject = payload.and_then(|p| p.subject.as_ref()).or(self.sub_id.as_ref());
        let subject_iss = subject.and_then(|s| s.iss.as_deref()).unwrap_or(&self.iss);
        if subject_iss != self.iss {
            return Err(ProviderError::ForeignSubject);
        }
        let sub = subject
            .and_then(|s| s.sub.as_deref())
            .or(self.sub.as_deref())
            .filter(|s| !s.is_empty())
            .ok_or(ProviderError::InvalidEvent("the event names no subject"))?;
        Ok(EventSubject {
            iss: self.iss.clone(),
            sub: sub.to_owned(),
        })
    }

    /// When the provider issued it: the cutoff of what a revocation overrides.
    pub fn issued_at(&self) -> i64 {
        self.iat.secs()
    }
}
