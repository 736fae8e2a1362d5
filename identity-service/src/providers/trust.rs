//! [`ProviderTrust`]: a provider's token is accepted once. ID-JAGs are remembered until
//! they expire, security events long enough to absorb a transmitter's retries.

use std::sync::Arc;
use std::time::Duration;

use super::claims::IdJagClaims;
use super::{IdJag, ProviderExpectations, ProviderKeys, SecurityEvent, Untyped};
use crate::error::{IdentityError, ProviderError};
use shared::store::replay::ReplayCache;

/// The header `typ` of an ID-JAG (draft §3, RFC 8725 §3.11).
pub const ID_JAG_TYP: &str = "oauth-id-jag+jwt";
/// How long a security event's `jti` is remembered (transmitters retry for days).
const EVENT_DEDUP: Duration = Duration::from_secs(7 * 24 * 3600);

/// Which kind of event token a receiver takes: its media subtype is its `typ`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// RFC 8935 push delivery of an RFC 8417 SET.
    SecurityEvent,
    /// OpenID Back-Channel Logout 1.0's `logout+jwt`.
    Logout,
}

impl EventKind {
    pub fn media_subtype(self) -> &'static str {
        match self {
            Self::SecurityEvent => "secevent+jwt",
            Self::Logout => "logout+jwt",
        }
    }
}

#[derive(Debug)]
pub struct ProviderTrust {
    keys: ProviderKeys,
    replay: Arc<dyn ReplayCache>,
    /// Our issuer: the `aud` every provider token must name.
    audience: String,
    leeway: Duration,
    /// Longest ID-JAG lifetime accepted (`assertion.max_lifetime`, whoever signed it).
    max_lifetime: Duration,
}

impl ProviderTrust {
    pub fn new(
        keys: ProviderKeys,
        replay: Arc<dyn ReplayCache>,
        audience: &str,
        (leeway, max_lifetime): (Duration, Duration),
    ) -> Self {
        Self {
            keys,
            replay,
            audience: audience.to_owned(),
            leeway,
            max_lifetime,
        }
    }

    /// A trusted provider's ID-JAG, verified and seen for the first time.
    pub async fn verify_id_jag(&self, token: &str) -> Result<IdJag, IdentityError> {
        let expect = ProviderExpectations {
            audience: self.audience.clone(),
            typ: ID_JAG_TYP,
            untyped: Untyped::AllowedIfProviderOptsIn,
            require_exp: true,
            max_lifetime: Some(self.max_lifetime),
            leeway: self.leeway,
        };
        let (_, claims) = self.keys.verify::<IdJagClaims>(token, &expect).await?;
        claims.require_ids()?;
        // Remembered until the assertion itself stops being accepted: `exp` is a bounded
        // NumericDate (at most `max_lifetime` after an `iat` that is not in the future).
        let until = claims.exp.secs().saturating_add(secs(self.leeway));
        if !self.replay.first_use(&claims.iss, &claims.jti, until).await? {
            return Err(ProviderError::Replayed.into());
        }
        Ok(claims.into_id_jag()?)
    }

    /// A trusted provider's event token, verified; `None` for a duplicate delivery (its
    /// `jti` was seen: already applied, still acknowledged).
    pub async fn verify_event(
        &self,
        token: &str,
        kind: EventKind,
        now: i64,
    ) -> Result<Option<SecurityEvent>, IdentityError> {
        let expect = ProviderExpectations {
            audience: self.audience.clone(),
            typ: kind.media_subtype(),
            untyped: Untyped::Refused,
            require_exp: false,
            max_lifetime: None,
            leeway: self.leeway,
        };
        let (_, event) = self.keys.verify::<SecurityEvent>(token, &expect).await?;
        let jti = event
            .jti
            .as_deref()
            .filter(|j| !j.is_empty())
            .ok_or(ProviderError::MissingClaim("jti"))?;
        if !self
            .replay
            .first_use(&event.iss, jti, now.saturating_add(secs(EVENT_DEDUP)))
            .await?
        {
            tracing::info!("duplicate security event ignored");
            return Ok(None);
        }
        Ok(Some(event))
    }
}

fn secs(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}
