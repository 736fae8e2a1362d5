//! Where registrations live: Redis in production, memory for the all-in-one runner and
//! unit tests; both pass the contract suite in `tests/api/store_contract.rs`.

mod memory;
mod redis;

use std::sync::Arc;

use shared::settings::{StoreBackend, StoreSettings};
use shared::store::{Reachable, StoreError};

use crate::registration::{Registration, RegistrationId};

pub use self::memory::MemoryRegistrationStore;
pub use self::redis::RedisRegistrationStore;

#[async_trait::async_trait]
pub trait RegistrationStore: Reachable + std::fmt::Debug {
    /// Stores a new registration; `drop_at` (Unix seconds) lets the store forget it then.
    async fn create(&self, registration: &Registration, drop_at: Option<i64>) -> Result<(), StoreError>;
    /// One read: the hot path of every token exchange.
    async fn get(&self, id: &RegistrationId) -> Result<Option<Registration>, StoreError>;
}

pub fn from_settings(settings: &StoreSettings) -> Result<Arc<dyn RegistrationStore>, StoreError> {
    Ok(match settings.backend {
        StoreBackend::Memory => Arc::new(MemoryRegistrationStore::default()),
        StoreBackend::Redis => Arc::new(RedisRegistrationStore::connect(settings)?),
    })
}
