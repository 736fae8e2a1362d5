//! RFC 9068 JWT access tokens: header `typ: at+jwt`; claims `iss`, `sub`, `aud`,
//! `client_id`, `scope`, `iat`, `exp`, `jti`, `cnf` when the token is bound to a key
//! (RFC 9449 §6 `jkt`) or a client certificate (RFC 8705 §3.1 `x5t#S256`), and
//! `grant_id` when it rests on a human's consent (the authorization code flow), so
//! introspection can tell when that consent is revoked. A delegated token (RFC 8693
//! token exchange) adds `act`, its actors nested newest outermost (§4.1), and
//! `delegated_from`, the `jti`s of the tokens it was exchanged from, root first, so it
//! dies with any of them.

use std::sync::Arc;
use std::time::Duration;

use protocol::jose::{Expectations, JoseError, KeyRing, SigningKey, VerifyError};
use protocol::scope::ScopeSet;
use serde::{Deserialize, Serialize};
use shared::keys::watch::KeyRingWatch;

use crate::error::OAuthError;

pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// `aud`: one resource (a string, as most resource servers expect), or several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn of(mut audiences: Vec<String>) -> Self {
        if audiences.len() == 1 {
            Self::One(audiences.remove(0))
        } else {
            Self::Many(audiences)
        }
    }
}

/// RFC 7800 confirmation: what a presenter must prove to use the token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jkt: Option<String>,
    #[serde(rename = "x5t#S256", default, skip_serializing_if = "Option::is_none")]
    pub x5t_s256: Option<String>,
}

impl Confirmation {
    pub fn is_empty(&self) -> bool {
        self.jkt.is_none() && self.x5t_s256.is_none()
    }

    /// RFC 9449 §5: a DPoP-bound token is of type `DPoP`; any other is `Bearer` (a
    /// certificate-bound token is still sent as a bearer token, over mTLS).
    pub fn token_type(&self) -> &'static str {
        if self.jkt.is_some() { "DPoP" } else { "Bearer" }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub client_id: String,
    pub scope: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Act>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delegated_from: Vec<String>,
}

/// RFC 8693 §4.1: the party acting for the token's subject, and the actors before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Act {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Box<Act>>,
}

impl Act {
    /// This actor, then each earlier one.
    pub fn chain(&self) -> impl Iterator<Item = &Act> {
        std::iter::successors(Some(self), |actor| actor.act.as_deref())
    }

    /// How many actors the chain names.
    pub fn depth(&self) -> usize {
        self.chain().count()
    }
}

/// What makes a token delegated: who acts, what it came from, when it must end.
#[derive(Debug, Clone)]
pub struct Delegation {
    pub act: Act,
    /// The `jti`s of the tokens it was exchanged from, root first, parent last.
    pub delegated_from: Vec<String>,
    /// Its `exp` is no later than this.
    pub not_after: i64,
}

/// What a token is for: set by the grant, then minted.
#[derive(Debug, Clone)]
pub struct TokenRequest<'a> {
    pub subject: &'a str,
    pub client_id: &'a str,
    pub scope: ScopeSet,
    /// RFC 8707 resources; empty: the configured default audience.
    pub audiences: Vec<String>,
    pub cnf: Confirmation,
    /// The human's consent the token rests on (`gnt_…`), if it does.
    pub grant_id: Option<&'a str>,
}

/// A freshly minted token as the token endpoint returns it.
#[derive(Debug)]
pub struct Minted {
    pub token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub scope: ScopeSet,
    /// The grant's refresh token, when it hands one out.
    pub refresh_token: Option<String>,
    /// RFC 8693 §2.2.1 `issued_token_type`, for a token exchange's answer.
    pub issued_token_type: Option<&'static str>,
}

#[derive(Debug, Clone)]
pub struct AccessTokens {
    issuer: String,
    /// The default audience first, then every configured protected resource.
    audiences: Vec<String>,
    ttl: Duration,
    /// What one of our tokens carries, checked on introspection and revocation.
    expect: Expectations,
}

impl AccessTokens {
    pub fn new(issuer: &str, default_audience: &str, resources: &[String], ttl: Duration, leeway: Duration) -> Self {
        let mut audiences = vec![default_audience.to_owned()];
        audiences.extend(resources.iter().filter(|r| *r != default_audience).cloned());
        let expect = Expectations::new(ACCESS_TOKEN_TYP, issuer, &audiences, leeway.as_secs());
        Self {
            issuer: issuer.to_owned(),
            audiences,
            ttl,
            expect,
        }
    }

    pub fn mint(&self, signer: &SigningKey, request: TokenRequest<'_>, now: i64) -> Result<Minted, JoseError> {
        Ok(self.mint_delegated(signer, request, None, now)?.0)
    }

    /// [`Self::mint`], with `delegation`'s actors, parents and end when it is one.
    pub fn mint_delegated(
        &self,
        signer: &SigningKey,
        request: TokenRequest<'_>,
        delegation: Option<Delegation>,
        now: i64,
    ) -> Result<(Minted, AccessTokenClaims), JoseError> {
        let audiences = if request.audiences.is_empty() {
            vec![self.audiences[0].clone()]
        } else {
            request.audiences
        };
        let token_type = request.cnf.token_type();
        let full = now + self.ttl.as_secs() as i64;
        let exp = delegation.as_ref().map_or(full, |d| full.min(d.not_after));
        let (act, delegated_from) = delegation.map_or((None, Vec::new()), |d| (Some(d.act), d.delegated_from));
        let claims = AccessTokenClaims {
            iss: self.issuer.clone(),
            sub: request.subject.to_owned(),
            aud: Audience::of(audiences),
            client_id: request.client_id.to_owned(),
            scope: request.scope.to_string(),
            iat: now,
            exp,
            jti: protocol::secrets::random_token(16),
            cnf: (!request.cnf.is_empty()).then_some(request.cnf),
            grant_id: request.grant_id.map(str::to_owned),
            act,
            delegated_from,
        };
        let minted = Minted {
            token: signer.sign(ACCESS_TOKEN_TYP, &claims)?,
            token_type,
            expires_in: u64::try_from(exp - now).unwrap_or(0),
            scope: request.scope,
            refresh_token: None,
            issued_token_type: None,
        };
        Ok((minted, claims))
    }

    /// Verifies one of our access tokens (signature, `typ`, `iss`, `aud` one we issue
    /// for, `exp`).
    pub fn verify(&self, keys: &KeyRing, token: &str) -> Result<AccessTokenClaims, VerifyError> {
        Ok(keys.verify::<AccessTokenClaims>(token, &self.expect)?.claims)
    }
}

/// Our access tokens with the keys jwks-service streams: minted with the current
/// signing key, verified with every published one.
#[derive(Debug)]
pub struct TokenMinter {
    pub tokens: AccessTokens,
    pub keys: KeyRingWatch,
}

impl TokenMinter {
    /// Mints the token `request` describes, and audits it.
    pub fn mint(&self, request: TokenRequest<'_>) -> Result<Minted, OAuthError> {
        let (client_id, subject) = (request.client_id, request.subject);
        let (minted, _) = self.sign(request, None)?;
        shared::audit::record(
            "token_issued",
            shared::audit::Actor::Client(client_id),
            subject,
            "success",
        );
        Ok(minted)
    }

    /// Mints a delegated token (RFC 8693) and audits it, naming both principals and
    /// the chain's depth; with the claims it carries, for the delegation log.
    pub fn mint_delegated(
        &self,
        request: TokenRequest<'_>,
        delegation: Delegation,
    ) -> Result<(Minted, AccessTokenClaims), OAuthError> {
        let (client_id, subject) = (request.client_id.to_owned(), request.subject.to_owned());
        let (actor, depth) = (delegation.act.sub.clone(), delegation.act.depth());
        let minted = self.sign(request, Some(delegation))?;
        shared::audit::record_delegation(
            shared::audit::Actor::Client(&client_id),
            &subject,
            &actor,
            depth,
            "success",
        );
        Ok(minted)
    }

    fn sign(
        &self,
        request: TokenRequest<'_>,
        delegation: Option<Delegation>,
    ) -> Result<(Minted, AccessTokenClaims), OAuthError> {
        let now = shared::time::unix_now();
        let signer = self.signer(now)?;
        self.tokens
            .mint_delegated(&signer, request, delegation, now)
            .map_err(|e| OAuthError::ServerError(e.to_string()))
    }

    /// One of our access tokens, verified with the published keys.
    pub fn verify(&self, token: &str) -> Result<AccessTokenClaims, VerifyError> {
        let keys = self.keys.borrow().clone();
        self.tokens.verify(&keys, token)
    }

    fn signer(&self, now: i64) -> Result<Arc<SigningKey>, OAuthError> {
        self.keys
            .borrow()
            .signer_at(now)
            .cloned()
            .ok_or(OAuthError::TemporarilyUnavailable {
                what: "token signing",
                cause: "no current signing key from jwks-service (none yet, or past its retirement)".into(),
            })
    }
}
