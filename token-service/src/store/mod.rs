//! token-service's stores: the revocation denylist, machine clients, the replay cache of
//! client assertion and DPoP proof `jti`s, and refresh token families. Redis in
//! production, memory for the all-in-one runner and unit tests; both pass the contract
//! suite in `tests/api/store_contract.rs`.

mod memory;
mod redis;
mod refresh_memory;
mod refresh_redis;

use std::sync::Arc;

use shared::settings::{StoreBackend, StoreSettings};
use shared::store::replay::{MemoryReplayCache, RedisReplayCache, ReplayCache};
use shared::store::{Keyspace, Reachable, StoreError};

use crate::clients::{Client, ClientId};
use crate::refresh::RefreshFamily;

pub use self::memory::{MemoryClientStore, MemoryDenylist};
pub use self::redis::{RedisClientStore, RedisDenylist};
pub use self::refresh_memory::MemoryRefreshTokens;
pub use self::refresh_redis::RedisRefreshTokens;

/// Revoked access tokens by `jti`, each remembered only until the token would expire.
#[async_trait::async_trait]
pub trait DenylistStore: Reachable + std::fmt::Debug {
    async fn deny(&self, jti: &str, until: i64) -> Result<(), StoreError>;
    async fn is_denied(&self, jti: &str) -> Result<bool, StoreError>;
}

#[async_trait::async_trait]
pub trait ClientStore: Send + Sync + std::fmt::Debug {
    /// Stores a new client; never overwrites an existing one.
    async fn create(&self, client: &Client) -> Result<(), StoreError>;
    async fn get(&self, id: &ClientId) -> Result<Option<Client>, StoreError>;
    /// Replaces an existing client; `false` (nothing written) if it no longer exists, so
    /// a change racing a delete never brings the client back.
    async fn update(&self, client: &Client) -> Result<bool, StoreError>;
    /// Every client, ordered by creation time.
    async fn list(&self) -> Result<Vec<Client>, StoreError>;
    /// `false` if there was no such client.
    async fn delete(&self, id: &ClientId) -> Result<bool, StoreError>;
}

/// Refresh token families, each forgotten at the time it is stored with.
#[async_trait::async_trait]
pub trait RefreshTokenStore: Send + Sync + std::fmt::Debug {
    /// Stores a new family; never overwrites one.
    async fn create(&self, family: &RefreshFamily, until: i64) -> Result<(), StoreError>;
    async fn get(&self, id: &str) -> Result<Option<RefreshFamily>, StoreError>;
    /// Replaces the family only if its stored `current_hash` is still `expected` and it is
    /// not revoked (atomic across replicas); `false` when another rotation or a
    /// revocation won, or it is gone.
    async fn replace_if_current(&self, family: &RefreshFamily, expected: &str, until: i64) -> Result<bool, StoreError>;
    /// Replaces the family whatever it holds (revocation).
    async fn put(&self, family: &RefreshFamily, until: i64) -> Result<(), StoreError>;
}

#[derive(Debug)]
pub struct Stores {
    pub denylist: Arc<dyn DenylistStore>,
    pub clients: Arc<dyn ClientStore>,
    pub replay: Arc<dyn ReplayCache>,
    pub refresh: Arc<dyn RefreshTokenStore>,
}

/// The stores `settings` describe; Redis stores share the process's connection.
pub fn from_settings(settings: &StoreSettings, connections: &shared::store::Connections) -> Result<Stores, StoreError> {
    Ok(match settings.backend {
        StoreBackend::Memory => Stores {
            denylist: Arc::new(MemoryDenylist::default()),
            clients: Arc::new(MemoryClientStore::default()),
            replay: Arc::new(MemoryReplayCache::default()),
            refresh: Arc::new(MemoryRefreshTokens::default()),
        },
        StoreBackend::Redis => {
            let conn = connections.redis(settings)?;
            Stores {
                denylist: Arc::new(RedisDenylist::new(conn.clone(), &settings.key_prefix)),
                clients: Arc::new(RedisClientStore::new(conn.clone(), &settings.key_prefix)),
                replay: Arc::new(RedisReplayCache::new(
                    conn.clone(),
                    Keyspace::new(&settings.key_prefix, "token"),
                )),
                refresh: Arc::new(RedisRefreshTokens::new(conn, &settings.key_prefix)),
            }
        }
    })
}
