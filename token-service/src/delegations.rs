//! The record of delegations: every token issued by token exchange, kept for a day in
//! its subject's log, so the subject's human can see on `/agent/account` who acted in
//! whose name (actor, audience, scope, time) and revoke one. Revoking is the denylist
//! entry of its `jti`, which ends every token exchanged from it too ([`Liveness`]).
//!
//! This is the one store write of token exchange, and it has none on any other grant.
//! A log that cannot be written fails the exchange: a delegation the human cannot see
//! is not handed out.

use std::sync::Arc;
use std::time::Duration;

use shared::store::{Reachable, StoreError};
use shared::time::unix_now;

use crate::access_token::AccessTokenClaims;
use crate::error::OAuthError;
use crate::liveness::Liveness;
use crate::revocation::DenylistStore;

/// How long a delegation stays in its subject's log.
pub const KEPT_FOR: Duration = Duration::from_secs(24 * 3600);
/// The most delegations one subject's log keeps; the oldest go first.
pub const MOST_KEPT: usize = 200;

/// Each subject's delegated tokens (their claims), by issue time.
#[async_trait::async_trait]
pub trait DelegationLog: Reachable + std::fmt::Debug {
    /// Adds `claims` to the log of `claims.sub`, dropping what was issued before
    /// `since` and all but the newest [`MOST_KEPT`].
    async fn record(&self, claims: &AccessTokenClaims, since: i64) -> Result<(), StoreError>;
    /// What `subject`'s log holds issued at or after `since`, newest first.
    async fn list(&self, subject: &str, since: i64) -> Result<Vec<AccessTokenClaims>, StoreError>;
}

/// A delegation as listed: the token, and whether it still works.
#[derive(Debug, Clone)]
pub struct Listed {
    pub claims: AccessTokenClaims,
    pub active: bool,
}

#[derive(Debug)]
pub struct Delegations {
    pub log: Arc<dyn DelegationLog>,
    pub denylist: Arc<dyn DenylistStore>,
    pub liveness: Arc<Liveness>,
}

impl Delegations {
    pub async fn record(&self, claims: &AccessTokenClaims) -> Result<(), OAuthError> {
        Ok(self.log.record(claims, window_start()).await?)
    }

    /// The delegations made in `subjects`' names in the last day, newest first.
    pub async fn list(&self, subjects: &[String]) -> Result<Vec<Listed>, OAuthError> {
        let mut listed = Vec::new();
        for subject in subjects {
            for claims in self.log.list(subject, window_start()).await? {
                let active = self.liveness.is_active(&claims).await?;
                listed.push(Listed { claims, active });
            }
        }
        listed.sort_by_key(|l| std::cmp::Reverse(l.claims.iat));
        Ok(listed)
    }

    /// Revokes the delegation `jti` if it was made in one of `subjects`' names, and
    /// says whether it was.
    pub async fn revoke(&self, subjects: &[String], jti: &str) -> Result<bool, OAuthError> {
        for subject in subjects {
            let logged = self.log.list(subject, window_start()).await?;
            if let Some(claims) = logged.iter().find(|c| c.jti == jti) {
                self.denylist.deny(&claims.jti, claims.exp).await?;
                shared::audit::record(
                    "delegation_revoked",
                    shared::audit::Actor::Human,
                    &claims.sub,
                    "success",
                );
                return Ok(true);
            }
        }
        Ok(false)
    }
}

fn window_start() -> i64 {
    unix_now() - i64::try_from(KEPT_FOR.as_secs()).unwrap_or(i64::MAX)
}
