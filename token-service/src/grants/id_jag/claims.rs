//! An ID-JAG's claims (draft -04 §3), typed, read only after its signature held, and
//! the rules they meet (§4.4, RFC 7523 §3). Every refusal is `invalid_grant`, names the
//! rule, and echoes nothing the token said.

use protocol::jose::NumericDate;
use protocol::scope::ScopeSet;
use serde::Deserialize;

use crate::client_auth::workload::claims::Audience;
use crate::error::OAuthError;

/// Longest `jti` remembered (an attacker-chosen string becomes a store key's input).
const MAX_JTI: usize = 256;

#[derive(Debug, Deserialize)]
pub struct IdJagClaims {
    pub iss: String,
    /// The person at the provider.
    pub sub: String,
    aud: Audience,
    /// The client the provider issued it to: the one that must present it.
    pub client_id: String,
    pub jti: String,
    pub exp: NumericDate,
    iat: NumericDate,
    #[serde(default)]
    nbf: Option<NumericDate>,
    /// The resource(s) the provider allowed: the token's audiences.
    #[serde(default)]
    resource: Option<Audience>,
    /// What the provider allowed, space-separated.
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub email_verified: Option<bool>,
}

impl IdJagClaims {
    /// `iss` is the provider's, `aud` is us, the identifiers are present, and the times
    /// hold: not expired, not before its time, not issued in the future, and living no
    /// longer than `max_lifetime`.
    pub fn check(
        &self,
        issuer: &str,
        audience: &str,
        now: i64,
        (max_lifetime, leeway): (i64, i64),
    ) -> Result<(), OAuthError> {
        if self.iss != issuer {
            return Err(refused("the ID-JAG's iss is not its identity provider's"));
        }
        if !self.aud.values().contains(&audience) {
            return Err(refused("the ID-JAG's aud is not this authorization server's issuer"));
        }
        for (name, value) in [("sub", &self.sub), ("client_id", &self.client_id), ("jti", &self.jti)] {
            if value.is_empty() {
                return Err(OAuthError::InvalidGrant(format!("the ID-JAG's {name} is empty")));
            }
        }
        if self.jti.len() > MAX_JTI {
            return Err(refused("the ID-JAG's jti is too long"));
        }
        let (exp, iat) = (self.exp.secs(), self.iat.secs());
        if exp <= now.saturating_sub(leeway) {
            return Err(refused("the ID-JAG has expired"));
        }
        if iat > now.saturating_add(leeway) || self.nbf.is_some_and(|nbf| nbf.secs() > now.saturating_add(leeway)) {
            return Err(refused("the ID-JAG is not valid yet"));
        }
        if exp.saturating_sub(iat) > max_lifetime {
            return Err(refused(
                "the ID-JAG lives longer than this server accepts (token_endpoint.id_jag.max_lifetime)",
            ));
        }
        Ok(())
    }

    /// The resources it names (none: it leaves the audience to the request).
    pub fn resources(&self) -> Vec<String> {
        self.resource
            .as_ref()
            .map(|r| r.values().into_iter().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// The scope it allows, if it says (a malformed one allows nothing).
    pub fn scope(&self) -> Result<Option<ScopeSet>, OAuthError> {
        self.scope
            .as_deref()
            .map(ScopeSet::parse)
            .transpose()
            .map_err(|_| refused("the ID-JAG's scope is not scope tokens separated by single spaces"))
    }
}

/// An `invalid_grant` refusal naming the rule the ID-JAG broke.
pub(super) fn refused(why: &str) -> OAuthError {
    OAuthError::InvalidGrant(why.to_owned())
}
