use redis::AsyncCommands;
use shared::settings::StoreSettings;
use shared::store::RedisConnection;
use shared::store::{Keyspace, StoreError, hashed_id};

use crate::email::Email;
use crate::registration::record::RegistrationId;
use crate::registration::store::{DelegationStore, UserDirectory};

/// Single-key records under `{prefix}identity:`: `deleg:<h(iss,sub)>` → registration id,
/// `delrev:<h(iss,sub)>` → revocation cutoff, `user:<h(email)>`, `owned:<h(email)>` (a
/// set of registration ids); `replay:<h(iss,jti)>` in the same keyspace is
/// `shared::store::replay`'s. Hashing keeps keys short and free of attacker-chosen bytes.
#[derive(Clone)]
pub struct RedisLinks {
    conn: RedisConnection,
    keys: Keyspace,
}

impl std::fmt::Debug for RedisLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLinks").field("keys", &self.keys).finish()
    }
}

impl RedisLinks {
    /// Links with their own connection (tests; a process shares one, see [`Self::new`]).
    pub fn connect(settings: &StoreSettings) -> Result<Self, StoreError> {
        Ok(Self::new(shared::store::connect_redis(settings)?, settings))
    }

    /// Links on `conn`, under `settings.key_prefix`.
    pub fn new(conn: RedisConnection, settings: &StoreSettings) -> Self {
        Self {
            conn,
            keys: Keyspace::new(&settings.key_prefix, "identity"),
        }
    }

    fn delegation_key(&self, iss: &str, sub: &str) -> String {
        self.keys.key("deleg", &hashed_id(&[iss, sub]))
    }

    fn parse_id(&self, key: &str, raw: String) -> Result<RegistrationId, StoreError> {
        RegistrationId::parse(&raw).map_err(|_| StoreError::Corrupt {
            key: key.to_owned(),
            reason: "not a registration id".into(),
        })
    }
}

#[async_trait::async_trait]
impl DelegationStore for RedisLinks {
    async fn delegation(&self, iss: &str, sub: &str) -> Result<Option<RegistrationId>, StoreError> {
        let key = self.delegation_key(iss, sub);
        let raw: Option<String> = self.conn.clone().get(&key).await?;
        raw.map(|raw| self.parse_id(&key, raw)).transpose()
    }

    async fn link_delegation(&self, iss: &str, sub: &str, id: &RegistrationId) -> Result<RegistrationId, StoreError> {
        let key = self.delegation_key(iss, sub);
        // SET NX GET: one round trip that links or tells who linked first.
        let previous: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(id.as_str())
            .arg("NX")
            .arg("GET")
            .query_async(&mut self.conn.clone())
            .await?;
        match previous {
            None => Ok(id.clone()),
            Some(raw) => self.parse_id(&key, raw),
        }
    }

    async fn unlink_delegation(&self, iss: &str, sub: &str) -> Result<(), StoreError> {
        let _: () = self.conn.clone().del(self.delegation_key(iss, sub)).await?;
        Ok(())
    }

    async fn record_revocation(&self, iss: &str, sub: &str, cutoff: i64, until: i64) -> Result<(), StoreError> {
        if until <= shared::time::unix_now() {
            return Ok(());
        }
        let key = self.keys.key("delrev", &hashed_id(&[iss, sub]));
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg(cutoff)
            .arg("EXAT")
            .arg(until)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    async fn revoked_through(&self, iss: &str, sub: &str) -> Result<Option<i64>, StoreError> {
        let key = self.keys.key("delrev", &hashed_id(&[iss, sub]));
        let raw: Option<String> = self.conn.clone().get(&key).await?;
        raw.map(|raw| {
            raw.parse().map_err(|_| StoreError::Corrupt {
                key,
                reason: "not a revocation cutoff".into(),
            })
        })
        .transpose()
    }
}

#[async_trait::async_trait]
impl UserDirectory for RedisLinks {
    async fn user_exists(&self, email: &Email) -> Result<bool, StoreError> {
        let key = self.keys.key("user", &hashed_id(&[&email.normalized()]));
        Ok(self.conn.clone().exists(key).await?)
    }

    async fn record_owned(&self, email: &Email, id: &RegistrationId) -> Result<(), StoreError> {
        let hashed = hashed_id(&[&email.normalized()]);
        let _: () = self.conn.clone().set(self.keys.key("user", &hashed), 1).await?;
        let _: () = self
            .conn
            .clone()
            .sadd(self.keys.key("owned", &hashed), id.as_str())
            .await?;
        Ok(())
    }

    async fn owned_by(&self, email: &Email) -> Result<Vec<RegistrationId>, StoreError> {
        let key = self.keys.key("owned", &hashed_id(&[&email.normalized()]));
        let ids: Vec<String> = self.conn.clone().smembers(&key).await?;
        ids.into_iter().map(|raw| self.parse_id(&key, raw)).collect()
    }
}
