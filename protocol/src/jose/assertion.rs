//! Our identity assertions (DESIGN §4): JWS with `typ: oauth-id-jag+jwt`, `aud` = `iss` =
//! our issuer. identity-service signs them; token-service verifies them itself at the
//! exchange (one signature check, with the published keys jwks-service streams to it),
//! so the exchange's work scales with token-service replicas and identity-service only
//! looks the registration up. Both sides use these claims and these rules.

use std::borrow::Cow;
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

/// Why an assertion may not be exchanged, every reason from its signature to its
/// registration's state: one enum from the verifier (here, or identity-service's
/// registration check) to each edge, which maps it once (token-service to RFC 6749
/// §5.2, identity-service to the protobuf `Refusal`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeRefusal {
    /// Not a compact JWS, a wrong `typ`, an unknown `kid`, a bad signature, a claim
    /// missing or out of bounds: what is wrong, in words the client may see.
    #[error("{0}")]
    InvalidAssertion(Cow<'static, str>),
    #[error("assertion has expired")]
    AssertionExpired,
    /// `iss` or `aud` is not this server.
    #[error("assertion was not issued by or for this server")]
    ForeignAssertion,
    #[error("registration does not exist")]
    UnknownRegistration,
    #[error("registration has expired")]
    RegistrationExpired,
    #[error("registration has been revoked")]
    RegistrationRevoked,
    /// The registration needs a human to complete its claim before any token.
    #[error("a human must complete the claim before tokens are issued")]
    UserAuthenticationRequired,
}

impl ExchangeRefusal {
    fn invalid(description: &'static str) -> Self {
        Self::InvalidAssertion(Cow::Borrowed(description))
    }

    /// A fixed name, for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::InvalidAssertion(_) => "invalid_assertion",
            Self::AssertionExpired => "assertion_expired",
            Self::ForeignAssertion => "foreign_assertion",
            Self::UnknownRegistration => "unknown_registration",
            Self::RegistrationExpired => "registration_expired",
            Self::RegistrationRevoked => "registration_revoked",
            Self::UserAuthenticationRequired => "user_authentication_required",
        }
    }
}

/// The one reading of the JWT verifier's errors for an assertion.
impl From<VerifyError> for ExchangeRefusal {
    fn from(error: VerifyError) -> Self {
        match error {
            VerifyError::Expired => Self::AssertionExpired,
            VerifyError::WrongIssuer | VerifyError::WrongAudience => Self::ForeignAssertion,
            VerifyError::UnknownKey => Self::invalid("assertion is not signed by a key of this server"),
            VerifyError::BadSignature => Self::invalid("assertion signature is invalid"),
            VerifyError::WrongType => Self::invalid("assertion typ must be oauth-id-jag+jwt"),
            VerifyError::NotYetValid => Self::invalid("assertion is not valid yet"),
            VerifyError::UnsupportedCritical => {
                Self::invalid("assertion names critical header parameters this server does not understand")
            }
            VerifyError::Malformed | VerifyError::WrongAlgorithm | VerifyError::MissingClaim(_) => {
                Self::invalid("assertion is not a well-formed signed JWT")
            }
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
    pub fn verify(&self, keys: &KeyRing, token: &str, now: i64) -> Result<AssertionClaims, ExchangeRefusal> {
        let claims = keys.verify::<AssertionClaims>(token, &self.expect)?.claims;
        if claims.iat > now + self.leeway.as_secs() as i64 {
            return Err(ExchangeRefusal::invalid("assertion is not valid yet"));
        }
        if claims.exp - claims.iat > self.max_lifetime.as_secs() as i64 {
            return Err(ExchangeRefusal::invalid("assertion lifetime is too long"));
        }
        Ok(claims)
    }
}
