use std::sync::Mutex;

use shared::store::{Reachable, StoreError};

use super::KeyStore;
use crate::keys::StoredKey;

#[derive(Debug, Default)]
pub struct MemoryKeyStore {
    active: Mutex<Option<StoredKey>>,
}

impl MemoryKeyStore {
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<StoredKey>> {
        self.active.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl KeyStore for MemoryKeyStore {
    async fn active(&self) -> Result<Option<StoredKey>, StoreError> {
        Ok(self.slot().clone())
    }

    async fn activate_first(&self, key: StoredKey) -> Result<StoredKey, StoreError> {
        Ok(self.slot().get_or_insert(key).clone())
    }
}

#[async_trait::async_trait]
impl Reachable for MemoryKeyStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
