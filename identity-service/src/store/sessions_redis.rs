use redis::AsyncCommands;
use shared::settings::StoreSettings;
use shared::store::{Keyspace, RedisConnection, StoreError, decode_json, encode_json};
use shared::time::unix_now;

use crate::authorize::record::HumanId;
use crate::authorize::store::{MAX_SESSIONS_PER_HUMAN, SessionRecord, SessionStore};

/// Adds a handle to a human's index and makes the index live at least as long as it.
const INDEX_SESSION: &str = r"
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local ends = tonumber(ARGV[3])
local current = redis.call('EXPIRETIME', KEYS[1])
if current == -1 or current < ends then redis.call('EXPIREAT', KEYS[1], ends) end
return 1
";

/// Under `{prefix}identity:`: `session:<handle>` is the record's JSON, expiring at its
/// `expires_at`; `sessions:<human>` a sorted set of the human's handles by start time,
/// an index that may name sessions already gone (readers skip and drop those). Each
/// write touches one key, so Redis Cluster needs no hash tags.
#[derive(Clone)]
pub struct RedisSessions {
    conn: RedisConnection,
    keys: Keyspace,
    index_session: redis::Script,
}

impl std::fmt::Debug for RedisSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSessions").field("keys", &self.keys).finish()
    }
}

impl RedisSessions {
    /// With its own connection (tests; a process shares one, see [`Self::new`]).
    pub fn connect(settings: &StoreSettings) -> Result<Self, StoreError> {
        Ok(Self::new(shared::store::connect_redis(settings)?, settings))
    }

    pub fn new(conn: RedisConnection, settings: &StoreSettings) -> Self {
        Self {
            conn,
            keys: Keyspace::new(&settings.key_prefix, "identity"),
            index_session: redis::Script::new(INDEX_SESSION),
        }
    }

    fn index(&self, human: &HumanId) -> String {
        self.keys.key("sessions", human.as_str())
    }
}

#[async_trait::async_trait]
impl SessionStore for RedisSessions {
    async fn put_session(&self, handle: &str, record: &SessionRecord) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let key = self.keys.key("session", handle);
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg(encode_json(record))
            .arg("EXAT")
            .arg(record.expires_at)
            .query_async(&mut conn)
            .await?;
        if record.expires_at <= unix_now() {
            return Ok(());
        }
        for human in record.human.iter().chain(record.upstream.iter()) {
            let index = self.index(human);
            let _: i64 = self
                .index_session
                .key(&index)
                .arg(handle)
                .arg(record.created_at)
                .arg(record.expires_at)
                .invoke_async(&mut conn)
                .await?;
            let excess: Vec<String> = conn.zrange(&index, 0, -(MAX_SESSIONS_PER_HUMAN as isize) - 1).await?;
            for oldest in excess {
                let _: () = conn.del(self.keys.key("session", &oldest)).await?;
                let _: () = conn.zrem(&index, &oldest).await?;
            }
        }
        Ok(())
    }

    async fn session(&self, handle: &str) -> Result<Option<SessionRecord>, StoreError> {
        let key = self.keys.key("session", handle);
        let raw: Option<String> = self.conn.clone().get(&key).await?;
        raw.map(|raw| decode_json(&key, &raw)).transpose()
    }

    async fn end_session(&self, handle: &str) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let record = self.session(handle).await?;
        let _: () = conn.del(self.keys.key("session", handle)).await?;
        if let Some(record) = record {
            for human in record.human.iter().chain(record.upstream.iter()) {
                let _: () = conn.zrem(self.index(human), handle).await?;
            }
        }
        Ok(())
    }

    async fn sessions_of(&self, human: &HumanId) -> Result<Vec<(String, SessionRecord)>, StoreError> {
        let index = self.index(human);
        let handles: Vec<String> = self.conn.clone().zrevrange(&index, 0, -1).await?;
        let mut live = Vec::with_capacity(handles.len());
        for handle in handles {
            match self.session(&handle).await? {
                Some(record) => live.push((handle, record)),
                None => {
                    let _: () = self.conn.clone().zrem(&index, &handle).await?;
                }
            }
        }
        Ok(live)
    }
}
