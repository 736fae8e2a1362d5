//! Authorization codes (RFC 6749 §4.1.2, OAuth 2.1 §4.1.3): 256 random bits, stored
//! only as a keyed hash, alive `code_ttl` (at most 60 s), bound to the client, the
//! redirect URI as sent, the PKCE challenge, the scopes and the resources. Redeeming
//! spends the code whatever the outcome, so each code is tried once; a second use of a
//! code whose first use redeemed is a replay and revokes the grant it served.

use protocol::scope::ScopeSet;
use shared::audit::{self, Actor};

use super::record::{Grant, IssuedCode, TakenCode};
use super::{
    AUTHORIZATION_CODE_CONTEXT, AuthorizationRequest, Authorizations, AuthorizeError, SPENT_CODE_MEMORY, SignedIn,
};

/// What a redeemed code grants.
#[derive(Debug, Clone)]
pub struct Redeemed {
    pub subject: String,
    pub client_id: String,
    pub scopes: ScopeSet,
    pub resources: Vec<String>,
    pub grant_id: String,
    pub auth_time: i64,
}

/// A redemption's outcome: a refusal is the client's `invalid_grant`, never an error.
#[derive(Debug)]
pub enum Redemption {
    Granted(Redeemed),
    Refused(&'static str),
}

/// What a token request presents with a code.
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    pub code: &'a str,
    pub client_id: &'a str,
    /// Empty when the token request sent none.
    pub redirect_uri: &'a str,
    pub code_verifier: &'a str,
}

impl Authorizations {
    /// Issues a code for `request` under `grant`, and says where to send the browser:
    /// the redirect URI with `code`, `state` and `iss` (RFC 9207).
    pub async fn issue_code(
        &self,
        who: &SignedIn,
        grant: &Grant,
        request: &AuthorizationRequest,
        now: i64,
    ) -> Result<String, AuthorizeError> {
        let limit = self.settings.authorizations_per_human;
        self.limits
            .enforce(&format!("codes-human:{}", who.human), limit)
            .await?;
        let code = protocol::secrets::random_token(32);
        let expires_at = now + self.settings.code_ttl.as_secs() as i64;
        let issued = IssuedCode {
            grant_id: grant.id.clone(),
            subject: who.human.clone(),
            client_id: request.client.client_id.clone(),
            redirect_uri: request.presented_redirect_uri.clone(),
            challenge: request.challenge.clone(),
            scopes: request.scopes.clone(),
            resources: request.resources.clone(),
            auth_time: who.auth_time,
            expires_at,
        };
        let hash = self.hasher.hash(AUTHORIZATION_CODE_CONTEXT, &code);
        let forget_at = expires_at + SPENT_CODE_MEMORY.as_secs() as i64;
        self.store.put_code(&hash, &issued, forget_at).await?;
        let mut pairs = vec![("code", code.as_str())];
        pairs.extend(request.state.as_deref().map(|state| ("state", state)));
        pairs.push(("iss", &self.issuer));
        Ok(super::error::location(&request.redirect_uri, &pairs))
    }

    /// Spends the code and checks what it is bound to.
    pub async fn redeem(&self, presented: Presented<'_>, now: i64) -> Result<Redemption, AuthorizeError> {
        let hash = self.hasher.hash(AUTHORIZATION_CODE_CONTEXT, presented.code);
        let code = match self.store.take_code(&hash).await? {
            TakenCode::Unknown => return Ok(Redemption::Refused("the authorization code is unknown or has expired")),
            // OAuth 2.1 §4.1.3: a code used twice revokes what its first use got. A first
            // use that was refused got nothing, so its replay only fails.
            TakenCode::Spent { code, redeemed: true } => {
                if let Some(grant) = self.grant(code.grant_id.as_str()).await? {
                    let client = Actor::Client(presented.client_id);
                    self.revoke_grant(grant, client, "code_replayed", now).await?;
                }
                return Ok(Redemption::Refused(
                    "the authorization code was already used; the consent it served is revoked",
                ));
            }
            TakenCode::Spent { redeemed: false, .. } => {
                return Ok(Redemption::Refused("the authorization code was already used"));
            }
            TakenCode::Fresh(code) => code,
        };
        if let Some(refusal) = binding_refusal(&code, presented, now) {
            tracing::info!(grant_id = %code.grant_id, reason = refusal, "authorization code refused");
            audit::record(
                "code_refused",
                Actor::Client(presented.client_id),
                code.grant_id.as_str(),
                "invalid_grant",
            );
            return Ok(Redemption::Refused(refusal));
        }
        match self.grant(code.grant_id.as_str()).await? {
            Some(grant) if grant.is_active() => {}
            _ => return Ok(Redemption::Refused("the human revoked this consent")),
        }
        self.store.mark_code_redeemed(&hash).await?;
        Ok(Redemption::Granted(Redeemed {
            subject: code.subject.to_string(),
            client_id: code.client_id,
            scopes: code.scopes,
            resources: code.resources,
            grant_id: code.grant_id.to_string(),
            auth_time: code.auth_time,
        }))
    }
}

/// Why a fresh code does not redeem for `presented`, if it does not.
fn binding_refusal(code: &IssuedCode, presented: Presented<'_>, now: i64) -> Option<&'static str> {
    if now >= code.expires_at {
        return Some("the authorization code has expired");
    }
    if code.client_id != presented.client_id {
        return Some("the authorization code was issued to another client");
    }
    if code.redirect_uri != presented.redirect_uri {
        return Some("redirect_uri differs from the authorization request's");
    }
    if presented.code_verifier.is_empty() {
        return Some("code_verifier is required (PKCE)");
    }
    code.challenge
        .verify(presented.code_verifier)
        .err()
        .map(|_| "code_verifier does not match the code_challenge")
}
