use std::time::Duration;

use shared::settings::StoreSettings;
use shared::store::RedisConnection;
use shared::store::{Keyspace, Reachable, StoreError, decode_json, encode_json};

use crate::keys::StoredKey;
use crate::keys::store::KeyStore;

/// Claims a slot and stores its key in one step. One hash holds both (`slot:<slot>` →
/// kid, `key:<kid>` → record), so the script touches a single key (Redis Cluster safe).
const INSERT_FOR_SLOT: &str = r"
if redis.call('HSETNX', KEYS[1], 'slot:' .. ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'key:' .. ARGV[2], ARGV[3])
return 1
";

/// Replaces a record only if it still exists (a retired key is not resurrected).
const REPLACE: &str = r"
if redis.call('HEXISTS', KEYS[1], 'key:' .. ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'key:' .. ARGV[1], ARGV[2])
return 1
";

/// Takes the lease if free, renews it if ours. ARGV[1] holder, ARGV[2] ttl ms.
const LEASE: &str = r"
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
";

/// Keys under `{prefix}jwks:`; written by jwks-service only.
#[derive(Clone)]
pub struct RedisKeyStore {
    conn: RedisConnection,
    set_key: String,
    lease_key: String,
    insert: redis::Script,
    replace: redis::Script,
    lease: redis::Script,
}

impl std::fmt::Debug for RedisKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisKeyStore").field("set_key", &self.set_key).finish()
    }
}

impl RedisKeyStore {
    /// A store with its own connection (tests; a process shares one, see [`Self::new`]).
    pub fn connect(settings: &StoreSettings) -> Result<Self, StoreError> {
        Ok(Self::new(shared::store::connect_redis(settings)?, settings))
    }

    /// Keys on `conn`, under `settings.key_prefix`.
    pub fn new(conn: RedisConnection, settings: &StoreSettings) -> Self {
        let keys = Keyspace::new(&settings.key_prefix, "jwks");
        Self {
            conn,
            set_key: keys.key("keys", "set"),
            lease_key: keys.key("lease", "scheduler"),
            insert: redis::Script::new(INSERT_FOR_SLOT),
            replace: redis::Script::new(REPLACE),
            lease: redis::Script::new(LEASE),
        }
    }
}

#[async_trait::async_trait]
impl KeyStore for RedisKeyStore {
    async fn all(&self) -> Result<Vec<StoredKey>, StoreError> {
        let fields: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(&self.set_key)
            .query_async(&mut self.conn.clone())
            .await?;
        fields
            .iter()
            .filter(|(field, _)| field.starts_with("key:"))
            .map(|(field, raw)| decode_json(&format!("{}#{field}", self.set_key), raw))
            .collect()
    }

    async fn insert_for_slot(&self, slot: &str, key: &StoredKey) -> Result<bool, StoreError> {
        let inserted: i64 = self
            .insert
            .key(&self.set_key)
            .arg(slot)
            .arg(&key.kid)
            .arg(encode_json(key))
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(inserted == 1)
    }

    async fn remove(&self, kid: &str) -> Result<(), StoreError> {
        let _: i64 = redis::cmd("HDEL")
            .arg(&self.set_key)
            .arg(format!("key:{kid}"))
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    async fn replace(&self, key: &StoredKey) -> Result<bool, StoreError> {
        let replaced: i64 = self
            .replace
            .key(&self.set_key)
            .arg(&key.kid)
            .arg(encode_json(key))
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(replaced == 1)
    }

    async fn lease(&self, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        let held: i64 = self
            .lease
            .key(&self.lease_key)
            .arg(holder)
            .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1))
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(held == 1)
    }
}

#[async_trait::async_trait]
impl Reachable for RedisKeyStore {
    async fn ping(&self) -> Result<(), StoreError> {
        shared::store::ping(&self.conn).await
    }
}
