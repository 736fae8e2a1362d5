//! Reading the tokens of an exchange: the subject (one of our access tokens, or an
//! agent's identity assertion) and the actor (the same, or the requesting client). A
//! token that is not a live one of ours is `invalid_request` (RFC 8693 §2.2.2). Tokens
//! we did not sign never get this far, so no `act` reaches a chain but ours.

use protocol::oauth::token_type;
use protocol::scope::ScopeSet;

use super::TokenExchangeGrant;
use super::parties::{Actor, Requester, Subject};
use crate::access_token::{AccessTokenClaims, Audience, Confirmation};
use crate::error::OAuthError;
use crate::grants::request::TokenExchangeRequest;

/// An agent as its identity assertion names it now.
struct Agent {
    sub: String,
    client_id: String,
    scope: ScopeSet,
    jkt: Option<String>,
    exp: i64,
    jti: String,
}

impl TokenExchangeGrant {
    pub(super) async fn subject(&self, request: &TokenExchangeRequest) -> Result<Subject, OAuthError> {
        let (token, kind) = (&request.subject_token, &request.subject_token_type);
        if kind == token_type::JWT {
            let agent = self.agent(token, "subject_token").await?;
            let claims = AccessTokenClaims {
                iss: String::new(),
                sub: agent.sub,
                aud: Audience::Many(Vec::new()),
                client_id: agent.client_id,
                scope: agent.scope.to_string(),
                iat: 0,
                exp: agent.exp,
                jti: agent.jti,
                cnf: agent.jkt.map(|jkt| Confirmation {
                    jkt: Some(jkt),
                    x5t_s256: None,
                }),
                grant_id: None,
                act: None,
                delegated_from: Vec::new(),
            };
            return Ok(Subject {
                claims,
                by_assertion: true,
            });
        }
        Ok(Subject {
            claims: self.live_token(token, kind, "subject_token").await?,
            by_assertion: false,
        })
    }

    /// The actor: the party of `actor_token`, a live token of ours or an agent's
    /// identity assertion, or without one the requesting client itself.
    pub(super) async fn actor(
        &self,
        request: &TokenExchangeRequest,
        requester: &Requester,
    ) -> Result<Actor, OAuthError> {
        Ok(match (&request.actor_token, &request.actor_token_type) {
            (Some(assertion), Some(kind)) if kind == token_type::JWT => {
                let agent = self.agent(assertion, "actor_token").await?;
                Actor {
                    sub: agent.sub,
                    client_id: agent.client_id,
                    scope: agent.scope,
                    jkt: agent.jkt,
                    exp: Some(agent.exp),
                }
            }
            (Some(token), Some(kind)) => {
                let claims = self.live_token(token, kind, "actor_token").await?;
                Actor {
                    sub: claims.sub,
                    client_id: claims.client_id,
                    scope: ScopeSet::parse(&claims.scope).unwrap_or_default(),
                    jkt: claims.cnf.and_then(|cnf| cnf.jkt),
                    exp: Some(claims.exp),
                }
            }
            (None, None) => {
                let scope = requester.scopes.clone().ok_or_else(|| {
                    OAuthError::InvalidRequest("an agent hands its access on to an actor: send actor_token".into())
                })?;
                Actor {
                    sub: requester.client_id.clone(),
                    client_id: requester.client_id.clone(),
                    scope,
                    jkt: None,
                    exp: None,
                }
            }
            _ => {
                return Err(OAuthError::InvalidRequest(
                    "actor_token and actor_token_type are sent together or not at all".into(),
                ));
            }
        })
    }

    /// An agent's identity assertion, verified as the jwt-bearer grant verifies it, and
    /// its registration as it is now (scopes, key).
    async fn agent(&self, assertion: &str, name: &str) -> Result<Agent, OAuthError> {
        let refused = |refused| match refused {
            OAuthError::InvalidGrant(why) => OAuthError::InvalidRequest(format!("the {name}: {why}")),
            other => other,
        };
        let claims =
            crate::grants::jwt_bearer::verify_assertion(&self.assertions, &self.keys, assertion).map_err(refused)?;
        let registration = self.identity.lookup(&claims, assertion).await.map_err(refused)?;
        Ok(Agent {
            sub: registration.subject,
            client_id: registration.client_id,
            scope: registration.scopes,
            jkt: claims.cnf.map(|cnf| cnf.jkt).or(registration.bound_jkt),
            exp: claims.exp,
            jti: claims.jti,
        })
    }

    /// `token` as one of our access tokens, still live.
    async fn live_token(&self, token: &str, kind: &str, name: &str) -> Result<AccessTokenClaims, OAuthError> {
        if kind != token_type::ACCESS_TOKEN {
            return Err(OAuthError::InvalidRequest(format!(
                "{name}_type: only access tokens issued here ({}) or our identity assertions ({}) are accepted",
                token_type::ACCESS_TOKEN,
                token_type::JWT
            )));
        }
        let claims = self.minter.verify(token).map_err(|_| {
            OAuthError::InvalidRequest(format!("the {name} is not an unexpired access token issued here"))
        })?;
        if !self.liveness.is_active(&claims).await? {
            return Err(OAuthError::InvalidRequest(format!("the {name} is expired or revoked")));
        }
        Ok(claims)
    }
}
