//! What every store returns when it fails, and the Redis connection all Redis stores use
//! (single server, Cluster or Sentinel; see [`connection`]).
//! `redis::RedisError` is turned into [`StoreError`] here and goes no further.

mod connection;
mod credentials;
pub mod replay;
mod topology;

use crate::settings::StoreSettings;

pub use connection::RedisConnection;
pub use topology::Topology;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Redis down, timed out or refused: callers answer 503 with `Retry-After`.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A record that does not decode: a bug or tampering, never the caller's fault.
    #[error("corrupt record at {key}: {reason}")]
    Corrupt { key: String, reason: String },
}

impl From<redis::RedisError> for StoreError {
    fn from(error: redis::RedisError) -> Self {
        Self::Unavailable(error.to_string())
    }
}

/// A store that can say whether it is reachable, for `/readyz`.
#[async_trait::async_trait]
pub trait Reachable: Send + Sync {
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Key names under the deployment prefix and the owning service's own prefix, so a key
/// is written by one service only (DESIGN §3).
#[derive(Debug, Clone)]
pub struct Keyspace {
    prefix: String,
}

impl Keyspace {
    pub fn new(deployment_prefix: &str, service: &str) -> Self {
        Self {
            prefix: format!("{deployment_prefix}{service}:"),
        }
    }

    pub fn key(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{id}", self.prefix)
    }
}

/// The connection `settings` describe (see [`RedisConnection`]): lazy, reconnecting,
/// every command bounded by `response_timeout`.
pub fn connect_redis(settings: &StoreSettings) -> Result<RedisConnection, StoreError> {
    RedisConnection::open(settings)
}

/// The Redis connections of one process: one per distinct server configuration, opened
/// on first use and shared by every store and service in the process (the all-in-one
/// runner's three services included). Key prefixes are the stores' own business, so
/// they do not count as a distinct configuration.
#[derive(Debug, Clone, Default)]
pub struct Connections {
    open: std::sync::Arc<std::sync::Mutex<Vec<(StoreSettings, RedisConnection)>>>,
}

impl Connections {
    /// The process's connection to the Redis `settings` describe.
    pub fn redis(&self, settings: &StoreSettings) -> Result<RedisConnection, StoreError> {
        let same = |other: &StoreSettings| {
            let prefixless = |s: &StoreSettings| StoreSettings {
                key_prefix: String::new(),
                ..s.clone()
            };
            crate::store::encode_json(&prefixless(other)) == crate::store::encode_json(&prefixless(settings))
        };
        #[allow(clippy::expect_used)]
        let mut open = self.open.lock().expect("the connection list is never poisoned");
        if let Some((_, conn)) = open.iter().find(|(s, _)| same(s)) {
            return Ok(conn.clone());
        }
        let conn = connect_redis(settings)?;
        open.push((settings.clone(), conn.clone()));
        Ok(conn)
    }

    /// How many distinct connections the process opened.
    pub fn count(&self) -> usize {
        self.open.lock().map(|open| open.len()).unwrap_or_default()
    }
}

/// `PING`, for readiness checks.
pub async fn ping(conn: &RedisConnection) -> Result<(), StoreError> {
    let mut conn = conn.clone();
    let _: String = redis::cmd("PING").query_async(&mut conn).await?;
    Ok(())
}

/// Decodes a JSON record read from a store, naming the key when it is corrupt.
pub fn decode_json<T: serde::de::DeserializeOwned>(key: &str, raw: &str) -> Result<T, StoreError> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt {
        key: key.to_owned(),
        reason: e.to_string(),
    })
}

/// Encodes a record for a store; our own types always serialize.
pub fn encode_json<T: serde::Serialize>(value: &T) -> String {
    #[allow(clippy::expect_used)]
    serde_json::to_string(value).expect("store records serialize")
}

/// A fixed-length key component for arbitrary strings (issuer URLs, subjects, emails):
/// hex SHA-256 of the parts, NUL-separated so `("ab","c")` and `("a","bc")` differ.
pub fn hashed_id(parts: &[&str]) -> String {
    let mut context = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            context.update(&[0]);
        }
        context.update(part.as_bytes());
    }
    context.finish().as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redis_at(url: &str, prefix: &str) -> StoreSettings {
        StoreSettings {
            redis_url: url.into(),
            key_prefix: prefix.into(),
            ..StoreSettings::default()
        }
    }

    #[tokio::test]
    async fn a_process_opens_one_connection_per_redis_whatever_the_prefixes() {
        let connections = Connections::default();
        // Nothing is dialled until the first command, so no server is needed here.
        for prefix in ["jwks:", "identity:", "token:"] {
            connections
                .redis(&redis_at("redis://127.0.0.1:6390", prefix))
                .expect("lazy");
        }
        assert_eq!(connections.count(), 1);
        connections
            .redis(&redis_at("redis://127.0.0.1:6391", "identity:"))
            .expect("lazy");
        assert_eq!(connections.count(), 2, "another Redis is another connection");
        let shared = connections.clone();
        shared
            .redis(&redis_at("redis://127.0.0.1:6391", "token:"))
            .expect("lazy");
        assert_eq!(connections.count(), 2, "clones share the process's connections");
    }
}
