//! Our identity assertions (DESIGN §4): JWS with `typ: oauth-id-jag+jwt`, `aud` = `iss` =
//! our issuer. identity-service signs them; token-service verifies them itself at the
//! exchange (one signature check, with the published keys jwks-service streams to it),
//! so the exchange's work scales with token-service replicas and identity-service only
//! looks the registration up. Both sides use these claims and these rules.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Expectations, KeyRing, VerifyError};

pub const ASSERTION_TYP: &str = "oauth-id-jag+jwt";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AssertionClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    pub client_id: String,
    pub registration_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    /// RFC 7800 / RFC 9449 §6: the DPoP key this assertion may be exchanged with only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<KeyConfirmation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyConfirmation {
    pub jkt: String,
}

/// Why an assertion is refused before its registration is even read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionRejected {
    #[error(transparent)]
    Token(#[from] VerifyError),
    #[error("assertion lifetime exceeds the maximum this server accepts")]
    LifetimeTooLong,
    #[error("assertion is issued in the future")]
    IssuedInTheFuture,
}

impl AssertionRejected {
    /// What the client is told (RFC 6749 §5.2 `invalid_grant`); never a secret.
    pub fn description(&self) -> &'static str {
        match self {
            Self::Token(VerifyError::Expired) => "assertion has expired",
            Self::Token(VerifyError::WrongIssuer | VerifyError::WrongAudience) => {
                "assertion was not issued by or for this server"
            }
            Self::Token(VerifyError::UnknownKey) => "assertion is not signed by a key of this server",
            Self::Token(VerifyError::BadSignature) => "assertion signature is invalid",
            Self::Token(VerifyError::WrongType) => "assertion typ must be oauth-id-jag+jwt",
            Self::Token(VerifyError::NotYetValid) | Self::IssuedInTheFuture => "assertion is not valid yet",
            Self::LifetimeTooLong => "assertion lifetime is too long",
            Self::Token(VerifyError::UnsupportedCritical) => {
                "assertion names critical header parameters this server does not understand"
            }
            Self::Token(_) => "assertion is not a well-formed signed JWT",
        }
    }

    /// A fixed name, for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Token(VerifyError::Expired) => "assertion_expired",
            Self::Token(VerifyError::WrongIssuer | VerifyError::WrongAudience) => "foreign_assertion",
            _ => "invalid_assertion",
        }
    }
}

/// The rules an assertion of one issuer is held to, built once.
#[derive(Debug, Clone)]
pub struct AssertionRules {
    leeway: Duration,
    max_lifetime: Duration,
    /// `typ`, and `iss` = `aud` = the issuer; the checks jsonwebtoken makes, built once.
    expect: Expectations,
}

impl AssertionRules {
    pub fn new(issuer: &str, max_lifetime: Duration, leeway: Duration) -> Self {
        Self {
            leeway,
            max_lifetime,
            expect: Expectations::new(ASSERTION_TYP, issuer, &[issuer.to_owned()], leeway.as_secs()),
        }
    }

    pub fn leeway(&self) -> Duration {
        self.leeway
    }

    pub fn max_lifetime(&self) -> Duration {
        self.max_lifetime
    }

    /// One signature check with a published key (an unknown `kid` is refused with no
    /// fetch), `typ`, `iss`, `aud`, `exp`, `nbf` and `crit`, then the time rules
    /// jsonwebtoken does not enforce.
    pub fn verify(&self, keys: &KeyRing, token: &str, now: i64) -> Result<AssertionClaims, AssertionRejected> {
        let claims = keys.verify::<AssertionClaims>(token, &self.expect)?.claims;
        if claims.iat > now + self.leeway.as_secs() as i64 {
            return Err(AssertionRejected::IssuedInTheFuture);
        }
        if claims.exp - claims.iat > self.max_lifetime.as_secs() as i64 {
            return Err(AssertionRejected::LifetimeTooLong);
        }
        Ok(claims)
    }
}
