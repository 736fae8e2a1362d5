//! Where signing keys live. Redis in production; memory for the all-in-one runner and
//! unit tests. Both pass the same contract suite (`tests/api/store_contract.rs`).

mod memory;
mod redis;

use std::sync::Arc;

use shared::settings::{StoreBackend, StoreSettings};
use shared::store::{Reachable, StoreError};

use crate::keys::StoredKey;

pub use self::memory::MemoryKeyStore;
pub use self::redis::RedisKeyStore;

#[async_trait::async_trait]
pub trait KeyStore: Reachable + std::fmt::Debug {
    /// The key signers must use now, if one was ever activated.
    async fn active(&self) -> Result<Option<StoredKey>, StoreError>;
    /// Activates `key` unless a key is already active; returns whichever key is active
    /// afterwards. Atomic across replicas.
    async fn activate_first(&self, key: StoredKey) -> Result<StoredKey, StoreError>;
}

pub fn from_settings(settings: &StoreSettings) -> Result<Arc<dyn KeyStore>, StoreError> {
    Ok(match settings.backend {
        StoreBackend::Memory => Arc::new(MemoryKeyStore::default()),
        StoreBackend::Redis => Arc::new(RedisKeyStore::connect(settings)?),
    })
}
