use redis::AsyncCommands;
use shared::settings::StoreSettings;
use shared::store::RedisConnection;
use shared::store::{Keyspace, Reachable, StoreError};

use super::compact;
use crate::registration::record::{Registration, RegistrationId};
use crate::registration::store::RegistrationStore;

/// Compare-and-swap on the record's `version` (Redis runs scripts atomically): the
/// `v<version>:` prefix of the compact form, or the `version` of a record still in JSON.
/// KEYS[1] record; ARGV[1] expected version, ARGV[2] new record, ARGV[3] drop time or "".
const UPDATE_IF_VERSION: &str = r"
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local version = string.match(current, '^v(%d+):')
if version then version = tonumber(version) else version = cjson.decode(current)['version'] end
if version ~= tonumber(ARGV[1]) then return 0 end
if ARGV[3] == '' then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[2], 'EXAT', ARGV[3])
end
return 1
";

/// One value per registration under `{prefix}identity:reg:<id>`, in the compact form of
/// [`compact`] (older records: JSON, read as they are and rewritten on their next update).
#[derive(Clone)]
pub struct RedisRegistrationStore {
    conn: RedisConnection,
    keys: Keyspace,
    update_if_version: redis::Script,
}

impl std::fmt::Debug for RedisRegistrationStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRegistrationStore")
            .field("keys", &self.keys)
            .finish()
    }
}

impl RedisRegistrationStore {
    /// A store with its own connection (tests; a process shares one, see [`Self::new`]).
    pub fn connect(settings: &StoreSettings) -> Result<Self, StoreError> {
        Ok(Self::new(shared::store::connect_redis(settings)?, settings))
    }

    /// Registrations on `conn`, under `settings.key_prefix`.
    pub fn new(conn: RedisConnection, settings: &StoreSettings) -> Self {
        Self {
            conn,
            keys: Keyspace::new(&settings.key_prefix, "identity"),
            update_if_version: redis::Script::new(UPDATE_IF_VERSION),
        }
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
        cmd.arg(&key).arg(compact::encode(registration)).arg("NX");
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

    async fn update(
        &self,
        registration: &Registration,
        expected_version: u64,
        drop_at: Option<i64>,
    ) -> Result<bool, StoreError> {
        let updated: i64 = self
            .update_if_version
            .key(self.key(&registration.id))
            .arg(expected_version)
            .arg(compact::encode(registration))
            .arg(drop_at.map(|at| at.to_string()).unwrap_or_default())
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(updated == 1)
    }

    async fn get(&self, id: &RegistrationId) -> Result<Option<Registration>, StoreError> {
        let key = self.key(id);
        let raw: Option<Vec<u8>> = self.conn.clone().get(&key).await?;
        raw.map(|raw| compact::decode(&key, &raw)).transpose()
    }
}

#[async_trait::async_trait]
impl Reachable for RedisRegistrationStore {
    async fn ping(&self) -> Result<(), StoreError> {
        shared::store::ping(&self.conn).await
    }
}
