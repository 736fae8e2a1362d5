//! Refresh tokens (RFC 6749 §6, as OAuth 2.1 §4.3 and RFC 9700 §4.14 require them for
//! public clients): opaque `<family>.<secret>`, only the secret's keyed hash stored. A
//! family is one chain of rotations from one authorization: every use replaces the
//! secret (compare-and-swap on the current hash, so two replicas racing on one token
//! never both win), and a secret of the family that is not the current one is a reuse:
//! the whole family dies. Each family is bound to its client, to the human's grant (a
//! revoked consent kills it) and, when the first token was DPoP-bound, to that key; it
//! lives `lifetime` at most and dies after `idle_timeout` unused.

mod record;

use std::sync::Arc;
use std::time::Duration;

use protocol::scope::ScopeSet;
use protocol::secrets::SecretHasher;
use serde::{Deserialize, Serialize};
use shared::audit::{self, Actor};
use shared::settings::SettingsError;

pub use record::RefreshFamily;

use crate::error::OAuthError;
use shared::store::StoreError;

const REFRESH_CONTEXT: &str = "refresh_token";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshSettings {
    /// The longest a family lives from its authorization, however often it is used.
    #[serde(with = "humantime_serde")]
    pub lifetime: Duration,
    /// A family unused this long dies.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
}

impl Default for RefreshSettings {
    fn default() -> Self {
        Self {
            lifetime: Duration::from_secs(30 * 24 * 3600),
            idle_timeout: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl RefreshSettings {
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.lifetime.is_zero() || self.idle_timeout.is_zero() || self.idle_timeout > self.lifetime {
            return Err(SettingsError::invalid(
                "refresh_tokens",
                "lifetime and idle_timeout must be positive, idle_timeout at most lifetime",
            ));
        }
        Ok(())
    }
}

/// What a new family is bound to.
#[derive(Debug, Clone)]
pub struct NewFamily<'a> {
    pub client_id: &'a str,
    pub subject: &'a str,
    pub grant_id: &'a str,
    pub scopes: &'a ScopeSet,
    pub resources: &'a [String],
    pub jkt: Option<&'a str>,
}

/// A presented token that may be rotated: its family as read, and the hash it matched.
#[derive(Debug)]
pub struct Presented {
    pub family: RefreshFamily,
    matched_hash: String,
}

/// Refresh token families, each forgotten at the time it is stored with.
#[async_trait::async_trait]
pub trait RefreshTokenStore: Send + Sync + std::fmt::Debug {
    /// Stores a new family; never overwrites one.
    async fn create(&self, family: &RefreshFamily, until: i64) -> Result<(), StoreError>;
    async fn get(&self, id: &str) -> Result<Option<RefreshFamily>, StoreError>;
    /// Replaces the family only if its stored `current_hash` is still `expected` and it is
    /// not revoked (atomic across replicas); `false` when another rotation or a
    /// revocation won, or it is gone.
    async fn replace_if_current(&self, family: &RefreshFamily, expected: &str, until: i64) -> Result<bool, StoreError>;
    /// Replaces the family whatever it holds (revocation).
    async fn put(&self, family: &RefreshFamily, until: i64) -> Result<(), StoreError>;
}

#[derive(Debug)]
pub struct RefreshTokens {
    store: Arc<dyn RefreshTokenStore>,
    hasher: SecretHasher,
    settings: RefreshSettings,
}

impl RefreshTokens {
    pub fn new(store: Arc<dyn RefreshTokenStore>, hasher: SecretHasher, settings: RefreshSettings) -> Self {
        Self {
            store,
            hasher,
            settings,
        }
    }

    /// Starts a family; the token to hand the client.
    pub async fn issue(&self, new: NewFamily<'_>, now: i64) -> Result<String, OAuthError> {
        let id = protocol::secrets::random_token(16);
        let secret = protocol::secrets::random_token(32);
        let family = RefreshFamily {
            id: id.clone(),
            client_id: new.client_id.to_owned(),
            subject: new.subject.to_owned(),
            grant_id: new.grant_id.to_owned(),
            scopes: new.scopes.clone(),
            resources: new.resources.to_vec(),
            jkt: new.jkt.map(str::to_owned),
            current_hash: self.hasher.hash(REFRESH_CONTEXT, &format!("{id}.{secret}")),
            created_at: now,
            expires_at: now + self.settings.lifetime.as_secs() as i64,
            last_used_at: now,
            revoked_at: None,
        };
        self.store.create(&family, self.forget_at(&family)).await?;
        Ok(format!("{id}.{secret}"))
    }

    /// The family `token` belongs to, if `client_id` may use it now. A secret of the
    /// family that is not its current one revokes the family.
    pub async fn check(&self, token: &str, client_id: &str, now: i64) -> Result<Presented, OAuthError> {
        let unknown = || OAuthError::InvalidGrant("the refresh token is unknown, expired or revoked".into());
        let (id, _) = token.split_once('.').ok_or_else(unknown)?;
        let family = self.store.get(id).await?.ok_or_else(unknown)?;
        if family.revoked_at.is_some() || !family.alive(now, self.settings.idle_timeout) {
            return Err(unknown());
        }
        if family.client_id != client_id {
            return Err(OAuthError::InvalidGrant(
                "the refresh token was issued to another client".into(),
            ));
        }
        let hash = self.hasher.hash(REFRESH_CONTEXT, token);
        if !protocol::secrets::same_secret(&hash, &family.current_hash) {
            self.revoke_family(family, Actor::Client(client_id), "reuse_detected", now)
                .await?;
            return Err(OAuthError::InvalidGrant(
                "the refresh token was already used: every token of its family is revoked".into(),
            ));
        }
        Ok(Presented {
            family,
            matched_hash: hash,
        })
    }

    /// Replaces the presented secret with a new one; the new token. Losing the race to
    /// another use of the same token is a reuse.
    pub async fn rotate(&self, presented: Presented, now: i64) -> Result<(RefreshFamily, String), OAuthError> {
        let mut family = presented.family;
        let secret = protocol::secrets::random_token(32);
        let token = format!("{}.{secret}", family.id);
        family.current_hash = self.hasher.hash(REFRESH_CONTEXT, &token);
        family.last_used_at = now;
        let forget_at = self.forget_at(&family);
        if !self
            .store
            .replace_if_current(&family, &presented.matched_hash, forget_at)
            .await?
        {
            let client = family.client_id.clone();
            if let Some(current) = self.store.get(&family.id).await? {
                self.revoke_family(current, Actor::Client(&client), "reuse_detected", now)
                    .await?;
            }
            return Err(OAuthError::InvalidGrant(
                "the refresh token was already used: every token of its family is revoked".into(),
            ));
        }
        Ok((family, token))
    }

    /// The family whose current token `token` is; `None` for anything else (an older
    /// token of a family, someone else's string, an access token).
    pub async fn current(&self, token: &str) -> Result<Option<RefreshFamily>, OAuthError> {
        let Some((id, _)) = token.split_once('.').filter(|(_, secret)| !secret.contains('.')) else {
            return Ok(None);
        };
        let Some(family) = self.store.get(id).await? else {
            return Ok(None);
        };
        let hash = self.hasher.hash(REFRESH_CONTEXT, token);
        Ok(protocol::secrets::same_secret(&hash, &family.current_hash).then_some(family))
    }

    /// RFC 7009 for a refresh token: its whole family dies.
    pub async fn revoke(&self, family: RefreshFamily, now: i64) -> Result<(), OAuthError> {
        let client = family.client_id.clone();
        self.revoke_family(family, Actor::Client(&client), "success", now).await
    }

    async fn revoke_family(
        &self,
        mut family: RefreshFamily,
        actor: Actor<'_>,
        why: &str,
        now: i64,
    ) -> Result<(), OAuthError> {
        if family.revoked_at.is_none() {
            family.revoked_at = Some(now);
            let forget_at = family.expires_at;
            self.store.put(&family, forget_at).await?;
        }
        audit::record("refresh_revoked", actor, &family.subject, why);
        Ok(())
    }

    /// When the store may forget a family: at its end of life or its idle deadline.
    fn forget_at(&self, family: &RefreshFamily) -> i64 {
        family
            .expires_at
            .min(family.last_used_at + self.settings.idle_timeout.as_secs() as i64)
    }
}
