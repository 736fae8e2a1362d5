//! Where signing keys live. Redis in production; memory for the all-in-one runner and
//! unit tests. Both pass the same contract suite (`tests/api/store_contract.rs`).

mod memory;
mod redis;

use std::sync::Arc;
use std::time::Duration;

use shared::settings::{StoreBackend, StoreSettings};
use shared::store::{Connections, Reachable, StoreError};

use crate::keys::StoredKey;

pub use self::memory::MemoryKeyStore;
pub use self::redis::RedisKeyStore;

#[async_trait::async_trait]
pub trait KeyStore: Reachable + std::fmt::Debug {
    /// Every stored key (next, active, retiring; retired ones are removed).
    async fn all(&self) -> Result<Vec<StoredKey>, StoreError>;
    /// Stores `key` as the one key of `slot` unless the slot is taken (atomic across
    /// replicas): a slot is never filled twice, even by two schedulers.
    async fn insert_for_slot(&self, slot: &str, key: &StoredKey) -> Result<bool, StoreError>;
    async fn remove(&self, kid: &str) -> Result<(), StoreError>;
    /// Replaces a stored key's record (same kid); `false` if it is gone.
    async fn replace(&self, key: &StoredKey) -> Result<bool, StoreError>;
    /// Takes or renews the scheduling lease for `holder`; `false` while another holds it.
    async fn lease(&self, holder: &str, ttl: Duration) -> Result<bool, StoreError>;
}

/// The store `settings` describe; a Redis store shares the process's connection.
pub fn from_settings(settings: &StoreSettings, connections: &Connections) -> Result<Arc<dyn KeyStore>, StoreError> {
    Ok(match settings.backend {
        StoreBackend::Memory => Arc::new(MemoryKeyStore::default()),
        StoreBackend::Redis => Arc::new(RedisKeyStore::new(connections.redis(settings)?, settings)),
    })
}
