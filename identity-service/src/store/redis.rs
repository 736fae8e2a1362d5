use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use shared::settings::StoreSettings;
use shared::store::{Keyspace, Reachable, StoreError, decode_json, encode_json};

use super::RegistrationStore;
use crate::registration::{Registration, RegistrationId};

/// One JSON value per registration under `{prefix}identity:reg:<id>`.
#[derive(Clone)]
pub struct RedisRegistrationStore {
    conn: ConnectionManager,
    keys: Keyspace,
}

impl std::fmt::Debug for RedisRegistrationStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRegistrationStore")
            .field("keys", &self.keys)
            .finish()
    }
}

impl RedisRegistrationStore {
    pub fn connect(settings: &StoreSettings) -> Result<Self, StoreError> {
        Ok(Self {
            conn: shared::store::connect_redis(settings)?,
            keys: Keyspace::new(&settings.key_prefix, "identity"),
        })
    }

    fn key(&self, id: &RegistrationId) -> String {
        self.keys.key("reg", id.as_str())
    }
}

#[async_trait::async_trait]
impl RegistrationStore for RedisRegistrationStore {
    async fn create(&self, registration: &Registration, drop_at: Option<i64>) -> Result<(), StoreError> {
        let key = self.key(&registration.id);
        let mut cmd = redis::cmd("SET");
        cmd.arg(&key).arg(encode_json(registration)).arg("NX");
        if let Some(at) = drop_at {
            cmd.arg("EXAT").arg(at);
        }
        let created: Option<String> = cmd.query_async(&mut self.conn.clone()).await?;
        match created {
            Some(_) => Ok(()),
            // 128 random bits collided, or a bug reused an id: never overwrite.
            None => Err(StoreError::Corrupt {
                key,
                reason: "registration id already exists".into(),
            }),
        }
    }

    async fn get(&self, id: &RegistrationId) -> Result<Option<Registration>, StoreError> {
        let key = self.key(id);
        let raw: Option<String> = self.conn.clone().get(&key).await?;
        raw.map(|raw| decode_json(&key, &raw)).transpose()
    }
}

#[async_trait::async_trait]
impl Reachable for RedisRegistrationStore {
    async fn ping(&self) -> Result<(), StoreError> {
        shared::store::ping(&self.conn).await
    }
}
