use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use shared::settings::StoreSettings;
use shared::store::{Keyspace, Reachable, StoreError, decode_json, encode_json};

use super::KeyStore;
use crate::keys::StoredKey;

/// Keys under `{prefix}jwks:`; written by jwks-service only.
#[derive(Clone)]
pub struct RedisKeyStore {
    conn: ConnectionManager,
    active_key: String,
}

impl std::fmt::Debug for RedisKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisKeyStore")
            .field("active_key", &self.active_key)
            .finish()
    }
}

impl RedisKeyStore {
    pub fn connect(settings: &StoreSettings) -> Result<Self, StoreError> {
        let keys = Keyspace::new(&settings.key_prefix, "jwks");
        Ok(Self {
            conn: shared::store::connect_redis(settings)?,
            active_key: keys.key("key", "active"),
        })
    }

    async fn read_active(&self) -> Result<Option<StoredKey>, StoreError> {
        let raw: Option<String> = self.conn.clone().get(&self.active_key).await?;
        raw.map(|raw| decode_json(&self.active_key, &raw)).transpose()
    }
}

#[async_trait::async_trait]
impl KeyStore for RedisKeyStore {
    async fn active(&self) -> Result<Option<StoredKey>, StoreError> {
        self.read_active().await
    }

    async fn activate_first(&self, key: StoredKey) -> Result<StoredKey, StoreError> {
        let won: bool = self.conn.clone().set_nx(&self.active_key, encode_json(&key)).await?;
        if won {
            return Ok(key);
        }
        self.read_active().await?.ok_or_else(|| StoreError::Corrupt {
            key: self.active_key.clone(),
            reason: "active key vanished right after SET NX lost".into(),
        })
    }
}

#[async_trait::async_trait]
impl Reachable for RedisKeyStore {
    async fn ping(&self) -> Result<(), StoreError> {
        shared::store::ping(&self.conn).await
    }
}
