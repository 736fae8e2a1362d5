//! Where signing keys live. Redis in production; memory for the all-in-one runner and
//! unit tests. Both pass the same contract suite (`tests/api/store_contract.rs`). The
//! trait is the keys domain's (`keys::store::KeyStore`); this module implements it.

mod memory;
mod redis;

use std::sync::Arc;

use shared::settings::{StoreBackend, StoreSettings};
use shared::store::{Connections, StoreError};

use crate::keys::store::KeyStore;

pub use self::memory::MemoryKeyStore;
pub use self::redis::RedisKeyStore;

/// The store `settings` describe; a Redis store shares the process's connection.
pub fn from_settings(settings: &StoreSettings, connections: &Connections) -> Result<Arc<dyn KeyStore>, StoreError> {
    Ok(match settings.backend {
        StoreBackend::Memory => Arc::new(MemoryKeyStore::default()),
        StoreBackend::Redis => Arc::new(RedisKeyStore::new(connections.redis(settings)?, settings)),
    })
}
