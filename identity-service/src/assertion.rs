//! Identity assertions (DESIGN §4): JWS with `typ: oauth-id-jag+jwt`, `aud` = `iss` = our
//! issuer. An agent reuses one until `exp` to get fresh access tokens.

use std::time::Duration;

use protocol::jose::{KeyRing, SigningKey};

pub use protocol::jose::assertion::{ASSERTION_TYP, AssertionClaims, AssertionRules, ExchangeRefusal, KeyConfirmation};

/// Who an assertion is for: a registration, as its claims name it.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub registration_id: &'a str,
    pub client_id: &'a str,
    pub registration_type: &'a str,
    /// The DPoP key the assertion is bound to, if any.
    pub jkt: Option<&'a str>,
}

/// Mints and verifies assertions for one issuer.
#[derive(Debug, Clone)]
pub struct Assertions {
    issuer: String,
    ttl: Duration,
    /// Ours: `typ`, and `iss` = `aud` = our issuer, the lifetime and the skew.
    rules: AssertionRules,
}

impl Assertions {
    pub fn new(issuer: &str, ttl: Duration, max_lifetime: Duration, leeway: Duration) -> Self {
        Self {
            issuer: issuer.to_owned(),
            ttl,
            rules: AssertionRules::new(issuer, max_lifetime, leeway),
        }
    }

    /// Clock skew tolerated on every assertion, ours or a provider's.
    pub fn leeway(&self) -> Duration {
        self.rules.leeway()
    }

    /// Longest `exp - iat` accepted on any assertion, ours or a provider's.
    pub fn max_lifetime(&self) -> Duration {
        self.rules.max_lifetime()
    }

    /// Signs an assertion for `subject`; returns it with its `exp`.
    pub fn mint(
        &self,
        signer: &SigningKey,
        subject: Subject<'_>,
        now: i64,
    ) -> Result<(String, i64), protocol::jose::JoseError> {
        let exp = now + self.ttl.as_secs() as i64;
        let claims = AssertionClaims {
            iss: self.issuer.clone(),
            sub: subject.registration_id.to_owned(),
            aud: self.issuer.clone(),
            jti: protocol::secrets::random_token(16),
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
    pub fn verify(&self, keys: &KeyRing, token: &str, now: i64) -> Result<AssertionClaims, ExchangeRefusal> {
        self.rules.verify(keys, token, now)
    }
}
