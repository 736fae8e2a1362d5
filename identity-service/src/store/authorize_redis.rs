use redis::AsyncCommands;
use shared::settings::StoreSettings;
use shared::store::{Keyspace, RedisConnection, StoreError, decode_json, encode_json, hashed_id};

use crate::authorize::record::{Grant, GrantId, HumanId, IssuedCode, LoginAttempt, LoginId, TakenCode};
use crate::authorize::store::{AuthorizationStore, REVOKED_GRANT_MEMORY};

/// Counts a try only on an attempt that still exists: HINCRBY alone would bring a
/// forgotten one back without an expiry.
const COUNT_FAILURE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('HINCRBY', KEYS[1], 'tries', 1)
";

/// Marks a code spent and returns `{first, record, redeemed}`: `first` is 1 for exactly
/// one caller; `redeemed` is 1 once that first use redeemed.
const TAKE_CODE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local first = redis.call('HSETNX', KEYS[1], 'spent', '1')
local redeemed = redis.call('HEXISTS', KEYS[1], 'redeemed')
return {first, redis.call('HGET', KEYS[1], 'record'), redeemed}
";

/// Sets a field of a hash that still exists (never bringing back a forgotten one).
const SET_IF_EXISTS: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('HSET', KEYS[1], ARGV[1], '1')
";

/// Writes a grant unless that would undo its revocation; a revoked one expires after
/// ARGV[2] seconds. 1 when written.
const PUT_GRANT: &str = r"
local function revoked(grant)
  return grant['revoked_at'] ~= nil and grant['revoked_at'] ~= cjson.null
end
local new = cjson.decode(ARGV[1])
local stored = redis.call('GET', KEYS[1])
if stored and revoked(cjson.decode(stored)) and not revoked(new) then return 0 end
if revoked(new) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
return 1
";

/// Under `{prefix}identity:`: `login:<id>` and `code:<hash>` are hashes (`record` JSON,
/// `tries` / `spent`, `redeemed`) that expire on their own; `grant:<id>` is the grant's JSON,
/// `consent:<h(sub,client)>` the grant id of that consent, `grants:<sub>` a sorted set
/// of the human's grant ids by time (and of the grants an identity provider gave for its
/// user, under that user's id), `human:<id>` when a human first existed. Each write is
/// one key, so Redis Cluster needs no hash tags.
#[derive(Clone)]
pub struct RedisAuthorizations {
    conn: RedisConnection,
    keys: Keyspace,
    count_failure: redis::Script,
    take_code: redis::Script,
    set_if_exists: redis::Script,
    put_grant: redis::Script,
}

impl std::fmt::Debug for RedisAuthorizations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisAuthorizations").field("keys", &self.keys).finish()
    }
}

impl RedisAuthorizations {
    /// With its own connection (tests; a process shares one, see [`Self::new`]).
    pub fn connect(settings: &StoreSettings) -> Result<Self, StoreError> {
        Ok(Self::new(shared::store::connect_redis(settings)?, settings))
    }

    pub fn new(conn: RedisConnection, settings: &StoreSettings) -> Self {
        Self {
            conn,
            keys: Keyspace::new(&settings.key_prefix, "identity"),
            count_failure: redis::Script::new(COUNT_FAILURE),
            take_code: redis::Script::new(TAKE_CODE),
            set_if_exists: redis::Script::new(SET_IF_EXISTS),
            put_grant: redis::Script::new(PUT_GRANT),
        }
    }

    async fn put_record<T: serde::Serialize>(&self, key: &str, record: &T, until: i64) -> Result<(), StoreError> {
        let _: () = redis::pipe()
            .atomic()
            .hset(key, "record", encode_json(record))
            .ignore()
            .expire_at(key, until)
            .ignore()
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    fn consent_key(&self, subject: &HumanId, client_id: &str) -> String {
        self.keys.key("consent", &hashed_id(&[subject.as_str(), client_id]))
    }

    async fn grant_at(&self, id: &str) -> Result<Option<Grant>, StoreError> {
        let key = self.keys.key("grant", id);
        let raw: Option<String> = self.conn.clone().get(&key).await?;
        raw.map(|raw| decode_json(&key, &raw)).transpose()
    }
}

#[async_trait::async_trait]
impl AuthorizationStore for RedisAuthorizations {
    async fn put_login(&self, attempt: &LoginAttempt, until: i64) -> Result<(), StoreError> {
        self.put_record(&self.keys.key("login", attempt.id.as_str()), attempt, until)
            .await
    }

    async fn login(&self, id: &LoginId) -> Result<Option<(LoginAttempt, u32)>, StoreError> {
        let key = self.keys.key("login", id.as_str());
        let (record, failures): (Option<String>, Option<u32>) = redis::cmd("HMGET")
            .arg(&key)
            .arg("record")
            .arg("tries")
            .query_async(&mut self.conn.clone())
            .await?;
        match record {
            None => Ok(None),
            Some(raw) => Ok(Some((decode_json(&key, &raw)?, failures.unwrap_or(0)))),
        }
    }

    async fn count_login_try(&self, id: &LoginId) -> Result<u32, StoreError> {
        Ok(self
            .count_failure
            .key(self.keys.key("login", id.as_str()))
            .invoke_async(&mut self.conn.clone())
            .await?)
    }

    async fn take_login(&self, id: &LoginId) -> Result<bool, StoreError> {
        let removed: u32 = self.conn.clone().del(self.keys.key("login", id.as_str())).await?;
        Ok(removed == 1)
    }

    async fn put_code(&self, hash: &str, code: &IssuedCode, until: i64) -> Result<(), StoreError> {
        self.put_record(&self.keys.key("code", hash), code, until).await
    }

    async fn take_code(&self, hash: &str) -> Result<TakenCode, StoreError> {
        let key = self.keys.key("code", hash);
        let taken: Option<(u32, Option<String>, u32)> =
            self.take_code.key(&key).invoke_async(&mut self.conn.clone()).await?;
        Ok(match taken {
            None | Some((_, None, _)) => TakenCode::Unknown,
            Some((1, Some(raw), _)) => TakenCode::Fresh(decode_json(&key, &raw)?),
            Some((_, Some(raw), redeemed)) => TakenCode::Spent {
                code: decode_json(&key, &raw)?,
                redeemed: redeemed == 1,
            },
        })
    }

    async fn mark_code_redeemed(&self, hash: &str) -> Result<(), StoreError> {
        let _: i64 = self
            .set_if_exists
            .key(self.keys.key("code", hash))
            .arg("redeemed")
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    async fn put_grant(&self, grant: &Grant) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        let id = grant.id.as_str();
        let written: i64 = self
            .put_grant
            .key(self.keys.key("grant", id))
            .arg(encode_json(grant))
            .arg(REVOKED_GRANT_MEMORY.as_secs())
            .invoke_async(&mut conn)
            .await?;
        if written == 0 {
            return Ok(false);
        }
        let _: () = conn.set(self.consent_key(&grant.subject, &grant.client_id), id).await?;
        let _: () = conn
            .zadd(self.keys.key("grants", grant.subject.as_str()), id, grant.granted_at)
            .await?;
        if let Some(upstream) = grant.upstream.as_ref().filter(|u| **u != grant.subject) {
            let _: () = conn
                .zadd(self.keys.key("grants", upstream.as_str()), id, grant.granted_at)
                .await?;
        }
        Ok(true)
    }

    async fn grant(&self, id: &GrantId) -> Result<Option<Grant>, StoreError> {
        self.grant_at(id.as_str()).await
    }

    async fn consent(&self, subject: &HumanId, client_id: &str) -> Result<Option<Grant>, StoreError> {
        let id: Option<String> = self.conn.clone().get(self.consent_key(subject, client_id)).await?;
        match id {
            None => Ok(None),
            Some(id) => self.grant_at(&id).await,
        }
    }

    async fn grants_of(&self, subject: &HumanId) -> Result<Vec<Grant>, StoreError> {
        let index = self.keys.key("grants", subject.as_str());
        let ids: Vec<String> = self.conn.clone().zrevrange(&index, 0, -1).await?;
        let mut grants = Vec::with_capacity(ids.len());
        for id in ids {
            match self.grant_at(&id).await? {
                Some(grant) => grants.push(grant),
                // A revoked grant the store let expire: drop it from the index too.
                None => {
                    let _: () = self.conn.clone().zrem(&index, &id).await?;
                }
            }
        }
        Ok(grants)
    }

    async fn remember_human(&self, human: &HumanId, now: i64) -> Result<bool, StoreError> {
        let key = self.keys.key("human", human.as_str());
        Ok(self.conn.clone().set_nx(key, now).await?)
    }

    async fn human_known(&self, human: &HumanId) -> Result<bool, StoreError> {
        let key = self.keys.key("human", human.as_str());
        Ok(self.conn.clone().exists(key).await?)
    }
}
