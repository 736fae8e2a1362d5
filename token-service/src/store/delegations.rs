//! The delegation log, in Redis and in memory.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use shared::store::{Keyspace, Reachable, RedisConnection, StoreError, decode_json, encode_json};

use crate::access_token::AccessTokenClaims;
use crate::delegations::{DelegationLog, KEPT_FOR, MOST_KEPT};

/// `{prefix}token:delegations:<sub>`: a sorted set of the subject's delegated tokens'
/// claims (JSON) scored by `iat`, trimmed on every write and expiring a day after the
/// last. One key per command, so it works the same on a Redis Cluster.
#[derive(Clone)]
pub struct RedisDelegationLog {
    conn: RedisConnection,
    keys: Keyspace,
}

impl std::fmt::Debug for RedisDelegationLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisDelegationLog").field("keys", &self.keys).finish()
    }
}

impl RedisDelegationLog {
    pub fn new(conn: RedisConnection, prefix: &str) -> Self {
        Self {
            conn,
            keys: Keyspace::new(prefix, "token"),
        }
    }
}

#[async_trait::async_trait]
impl DelegationLog for RedisDelegationLog {
    async fn record(&self, claims: &AccessTokenClaims, since: i64) -> Result<(), StoreError> {
        let key = self.keys.key("delegations", &claims.sub);
        let keep = isize::try_from(MOST_KEPT).unwrap_or(isize::MAX);
        let _: () = redis::pipe()
            .atomic()
            .zadd(&key, encode_json(claims), claims.iat)
            .ignore()
            .zrembyscore(&key, "-inf", format!("({since}"))
            .ignore()
            .zremrangebyrank(&key, 0, -(keep + 1))
            .ignore()
            .expire(&key, i64::try_from(KEPT_FOR.as_secs()).unwrap_or(i64::MAX))
            .ignore()
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    async fn list(&self, subject: &str, since: i64) -> Result<Vec<AccessTokenClaims>, StoreError> {
        let key = self.keys.key("delegations", subject);
        let raw: Vec<String> = redis::cmd("ZRANGE")
            .arg(&key)
            .arg("+inf")
            .arg(since)
            .arg("BYSCORE")
            .arg("REV")
            .query_async(&mut self.conn.clone())
            .await?;
        raw.iter().map(|entry| decode_json(&key, entry)).collect()
    }
}

#[async_trait::async_trait]
impl Reachable for RedisDelegationLog {
    async fn ping(&self) -> Result<(), StoreError> {
        shared::store::ping(&self.conn).await
    }
}

#[derive(Debug, Default)]
pub struct MemoryDelegationLog {
    by_subject: Mutex<HashMap<String, Vec<AccessTokenClaims>>>,
}

#[async_trait::async_trait]
impl DelegationLog for MemoryDelegationLog {
    async fn record(&self, claims: &AccessTokenClaims, since: i64) -> Result<(), StoreError> {
        let mut logs = self.by_subject.lock().unwrap_or_else(PoisonError::into_inner);
        let log = logs.entry(claims.sub.clone()).or_default();
        log.push(claims.clone());
        log.retain(|c| c.iat >= since);
        log.sort_by_key(|c| c.iat);
        let excess = log.len().saturating_sub(MOST_KEPT);
        log.drain(..excess);
        Ok(())
    }

    async fn list(&self, subject: &str, since: i64) -> Result<Vec<AccessTokenClaims>, StoreError> {
        let logs = self.by_subject.lock().unwrap_or_else(PoisonError::into_inner);
        let mut listed: Vec<AccessTokenClaims> = logs
            .get(subject)
            .into_iter()
            .flatten()
            .filter(|c| c.iat >= since)
            .cloned()
            .collect();
        listed.reverse();
        Ok(listed)
    }
}

#[async_trait::async_trait]
impl Reachable for MemoryDelegationLog {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
