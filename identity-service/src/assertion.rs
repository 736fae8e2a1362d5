//! Identity assertions (DESIGN §4): JWS with `typ: oauth-id-jag+jwt`, `aud` = `iss` = our
//! issuer. An agent reuses one until `exp` to get fresh access tokens.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use shared::jose::{Expectations, KeyRing, SigningKey, VerifyError};

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

/// Who an assertion is for: a registration, as its claims name it.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub registration_id: &'a str,
    pub client_id: &'a str,
    pub registration_type: &'a str,
    /// The DPoP key the assertion is bound to, if any.
    pub jkt: Option<&'a str>,
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

/// Mints and verifies assertions for one issuer.
#[derive(Debug, Clone)]
pub struct Assertions {
    issuer: String,
    ttl: Duration,
    max_lifetime: Duration,
    leeway: Duration,
    /// Ours: `typ`, and `iss` = `aud` = our issuer.
    expect: Expectations,
}

impl Assertions {
    pub fn new(issuer: &str, ttl: Duration, max_lifetime: Duration, leeway: Duration) -> Self {
        Self {
            issuer: issuer.to_owned(),
            ttl,
            max_lifetime,
            leeway,
            expect: Expectations::new(ASSERTION_TYP, issuer, &[issuer.to_owned()], leeway.as_secs()),
        }
    }

    /// Clock skew tolerated on every assertion, ours or a provider's.
    pub fn leeway(&self) -> Duration {
        self.leeway
    }

    /// Longest `exp - iat` accepted on any assertion, ours or a provider's.
    pub fn max_lifetime(&self) -> Duration {
        self.max_lifetime
    }

    /// Signs an assertion for `subject`; returns it with its `exp`.
    pub fn mint(
        &self,
        signer: &SigningKey,
        subject: Subject<'_>,
        now: i64,
    ) -> Result<(String, i64), shared::jose::JoseError> {
        let exp = now + self.ttl.as_secs() as i64;
        let claims = AssertionClaims {
            iss: self.issuer.clone(),
            sub: subject.registration_id.to_owned(),
            aud: self.issuer.clone(),
            jti: shared::secrets::random_token(16),
            iat: now,
            exp,
            client_id: subject.client_id.to_owned(),
            registration_type: subject.registration_type.to_owned(),
            email: None,
            email_verified: None,
            amr: None,
            cnf: subject.jkt.map(|jkt| KeyConfirmation { jkt: jkt.to_owned() }),
        };
        Ok((signer.sign(ASSERTION_TYP, &claims)?, exp))
    }

    /// One signature check, then the time rules jsonwebtoken does not enforce.
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
