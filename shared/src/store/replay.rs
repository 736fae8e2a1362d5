//! One-time values (a client assertion's or a DPoP proof's `jti`) that must be seen once
//! only, on every replica, until they would expire anyway: Redis `SET NX EXAT`, or a
//! process's memory for the all-in-one runner and unit tests.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::{Keyspace, RedisConnection, StoreError, hashed_id};

#[async_trait::async_trait]
pub trait ReplayCache: Send + Sync + std::fmt::Debug {
    /// `true` the first time `(namespace, id)` is seen, `false` on every later use until
    /// `until` (Unix seconds), after which it is forgotten.
    async fn first_use(&self, namespace: &str, id: &str, until: i64) -> Result<bool, StoreError>;
}

/// Memory: one process. Expired entries are swept once the map doubles since the last
/// sweep, so memory stays bounded by what is live.
#[derive(Debug, Default)]
pub struct MemoryReplayCache {
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    until: HashMap<String, i64>,
    swept_at_len: usize,
}

#[async_trait::async_trait]
impl ReplayCache for MemoryReplayCache {
    async fn first_use(&self, namespace: &str, id: &str, until: i64) -> Result<bool, StoreError> {
        let now = crate::time::unix_now();
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.until.len() > 2 * seen.swept_at_len.max(512) {
            seen.until.retain(|_, at| *at > now);
            seen.swept_at_len = seen.until.len();
        }
        let key = hashed_id(&[namespace, id]);
        match seen.until.get(&key) {
            Some(at) if *at > now => Ok(false),
            _ => {
                seen.until.insert(key, until);
                Ok(true)
            }
        }
    }
}

/// `{prefix}{service}:replay:<h(namespace, id)>`, set only if absent, expiring at `until`.
#[derive(Clone)]
pub struct RedisReplayCache {
    conn: RedisConnection,
    keys: Keyspace,
}

impl std::fmt::Debug for RedisReplayCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisReplayCache").field("keys", &self.keys).finish()
    }
}

impl RedisReplayCache {
    pub fn new(conn: RedisConnection, keys: Keyspace) -> Self {
        Self { conn, keys }
    }
}

#[async_trait::async_trait]
impl ReplayCache for RedisReplayCache {
    async fn first_use(&self, namespace: &str, id: &str, until: i64) -> Result<bool, StoreError> {
        // A value already past its end needs no entry, and EXAT in the past is an error.
        let until = until.max(crate::time::unix_now() + 1);
        let set: Option<String> = redis::cmd("SET")
            .arg(self.keys.key("replay", &hashed_id(&[namespace, id])))
            .arg(1)
            .arg("NX")
            .arg("EXAT")
            .arg(until)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(set.is_some())
    }
}
