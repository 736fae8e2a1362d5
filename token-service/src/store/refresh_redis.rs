use redis::AsyncCommands;
use shared::store::{Keyspace, RedisConnection, StoreError, decode_json, encode_json};

use crate::refresh::RefreshFamily;
use crate::refresh::RefreshTokenStore;

/// Replaces the family only if its stored `current_hash` is still ARGV[1] and it is not
/// revoked: a rotation racing a revocation never brings the family back.
const REPLACE_IF_CURRENT: &str = r"
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local family = cjson.decode(current)
if family['current_hash'] ~= ARGV[1] then return 0 end
if family['revoked_at'] ~= nil and family['revoked_at'] ~= cjson.null then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EXAT', ARGV[3])
return 1
";

/// `{prefix}token:refresh:<family id>`: the family as JSON, expiring at its end of
/// life or idle deadline. One key per family, so Redis Cluster needs no hash tags.
#[derive(Clone)]
pub struct RedisRefreshTokens {
    conn: RedisConnection,
    keys: Keyspace,
    replace_if_current: redis::Script,
}

impl std::fmt::Debug for RedisRefreshTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRefreshTokens").field("keys", &self.keys).finish()
    }
}

impl RedisRefreshTokens {
    pub fn new(conn: RedisConnection, prefix: &str) -> Self {
        Self {
            conn,
            keys: Keyspace::new(prefix, "token"),
            replace_if_current: redis::Script::new(REPLACE_IF_CURRENT),
        }
    }

    fn key(&self, id: &str) -> String {
        self.keys.key("refresh", id)
    }
}

#[async_trait::async_trait]
impl RefreshTokenStore for RedisRefreshTokens {
    async fn create(&self, family: &RefreshFamily, until: i64) -> Result<(), StoreError> {
        let key = self.key(&family.id);
        let created: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(encode_json(family))
            .arg("NX")
            .arg("EXAT")
            .arg(until)
            .query_async(&mut self.conn.clone())
            .await?;
        match created {
            Some(_) => Ok(()),
            None => Err(StoreError::Corrupt {
                key,
                reason: "refresh family already exists".into(),
            }),
        }
    }

    async fn get(&self, id: &str) -> Result<Option<RefreshFamily>, StoreError> {
        let key = self.key(id);
        let raw: Option<String> = self.conn.clone().get(&key).await?;
        raw.map(|raw| decode_json(&key, &raw)).transpose()
    }

    async fn replace_if_current(&self, family: &RefreshFamily, expected: &str, until: i64) -> Result<bool, StoreError> {
        let replaced: i64 = self
            .replace_if_current
            .key(self.key(&family.id))
            .arg(expected)
            .arg(encode_json(family))
            .arg(until)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(replaced == 1)
    }

    async fn put(&self, family: &RefreshFamily, until: i64) -> Result<(), StoreError> {
        let _: () = redis::cmd("SET")
            .arg(self.key(&family.id))
            .arg(encode_json(family))
            .arg("EXAT")
            .arg(until)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }
}
