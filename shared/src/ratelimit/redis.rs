use std::time::Duration;

use crate::settings::StoreSettings;
use crate::store::RedisConnection;
use crate::store::{Keyspace, StoreError};

use super::{Clock, Decision, Limit, RateLimiter};

/// One atomic check-and-record per hit on a single key, so it is Redis Cluster safe.
/// Scores are milliseconds of Redis server time: replicas with skewed clocks agree.
/// Writing after `TIME` needs effects replication, the default since Redis 5.
///
/// KEYS[1] bucket key; ARGV[1] max; ARGV[2] window (ms); ARGV[3] random member suffix;
/// ARGV[4] the time (ms) of a manual clock, or empty for the server's.
/// Returns 0 when the hit was recorded, else the ms until it would be allowed.
const SLIDING_WINDOW_HIT: &str = r"
local max = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local now = tonumber(ARGV[4])
if now == nil then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < max then
  redis.call('ZADD', KEYS[1], now, now .. '-' .. ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local leaving = redis.call('ZRANGE', KEYS[1], count - max, count - max, 'WITHSCORES')
return tonumber(leaving[2]) + window - now
";

/// A sliding-window log shared by every replica: one sorted set of hit times per bucket
/// under `{prefix}<owner>:rl:<bucket>`, expiring a window after its newest hit.
#[derive(Clone)]
pub struct RedisRateLimiter {
    conn: RedisConnection,
    keys: Keyspace,
    script: redis::Script,
    clock: Clock,
}

impl std::fmt::Debug for RedisRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRateLimiter").field("keys", &self.keys).finish()
    }
}

impl RedisRateLimiter {
    /// Counts on `conn` under `settings.key_prefix` and `owner` (the service's name).
    pub fn new(conn: RedisConnection, settings: &StoreSettings, owner: &str) -> Self {
        Self {
            conn,
            keys: Keyspace::new(&settings.key_prefix, owner),
            script: redis::Script::new(SLIDING_WINDOW_HIT),
            clock: Clock::System,
        }
    }

    /// Reads `clock` instead of the server's time (tests).
    pub fn with_clock(self, clock: Clock) -> Self {
        Self { clock, ..self }
    }
}

#[async_trait::async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn hit(&self, bucket: &str, limit: Limit) -> Result<Decision, StoreError> {
        if limit.is_disabled() {
            return Ok(Decision::Allowed);
        }
        // Rounded up: a sub-millisecond window must not become 0, which would delete the key.
        let window_ms = u64::try_from(limit.window.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX);
        // EVALSHA, falling back to EVAL once per Redis restart.
        let retry_after_ms: u64 = self
            .script
            .key(self.keys.key("rl", bucket))
            .arg(limit.max)
            .arg(window_ms)
            .arg(protocol::secrets::random_token(6))
            .arg(match &self.clock {
                Clock::System => String::new(),
                Clock::Manual(clock) => clock.now_ms().to_string(),
            })
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(match retry_after_ms {
            0 => Decision::Allowed,
            ms => Decision::Limited {
                retry_after: Duration::from_millis(ms),
            },
        })
    }
}
