//! RFC 9068 JWT access tokens: header `typ: at+jwt`; claims `iss`, `sub`, `aud`,
//! `client_id`, `scope`, `iat`, `exp`, `jti`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use shared::jose::{Expectations, JoseError, KeyRing, SigningKey, VerifyError};
use shared::scope::ScopeSet;

pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub scope: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

/// A freshly minted token as the token endpoint returns it.
#[derive(Debug)]
pub struct Minted {
    pub token: String,
    pub expires_in: u64,
    pub scope: ScopeSet,
}

#[derive(Debug, Clone)]
pub struct AccessTokens {
    issuer: String,
    audience: String,
    ttl: Duration,
    leeway: Duration,
}

impl AccessTokens {
    pub fn new(issuer: &str, audience: &str, ttl: Duration, leeway: Duration) -> Self {
        Self {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl,
            leeway,
        }
    }

    pub fn mint(
        &self,
        signer: &SigningKey,
        subject: &str,
        client_id: &str,
        scope: ScopeSet,
        now: i64,
    ) -> Result<Minted, JoseError> {
        let claims = AccessTokenClaims {
            iss: self.issuer.clone(),
            sub: subject.to_owned(),
            aud: self.audience.clone(),
            client_id: client_id.to_owned(),
            scope: scope.to_string(),
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
            jti: shared::secrets::random_token(16),
        };
        Ok(Minted {
            token: signer.sign(ACCESS_TOKEN_TYP, &claims)?,
            expires_in: self.ttl.as_secs(),
            scope,
        })
    }

    /// Verifies one of our access tokens (signature, `typ`, `iss`, `aud`, `exp`).
    pub fn verify(&self, keys: &KeyRing, token: &str) -> Result<AccessTokenClaims, VerifyError> {
        let expect = Expectations {
            typ: ACCESS_TOKEN_TYP,
            issuer: self.issuer.clone(),
            audience: Some(self.audience.clone()),
            leeway_secs: self.leeway.as_secs(),
        };
        Ok(keys.verify::<AccessTokenClaims>(token, &expect)?.claims)
    }
}
