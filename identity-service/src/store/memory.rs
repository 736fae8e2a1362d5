use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use shared::jose::unix_now;
use shared::store::{Reachable, StoreError};

use super::RegistrationStore;
use crate::registration::record::{Registration, RegistrationId};

#[derive(Debug, Default)]
pub struct MemoryRegistrationStore {
    records: Mutex<HashMap<RegistrationId, (Registration, Option<i64>)>>,
}

impl MemoryRegistrationStore {
    fn records(&self) -> MutexGuard<'_, HashMap<RegistrationId, (Registration, Option<i64>)>> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl RegistrationStore for MemoryRegistrationStore {
    async fn create(&self, registration: &Registration, drop_at: Option<i64>) -> Result<(), StoreError> {
        let now = unix_now();
        let mut records = self.records();
        // Forget dropped records as Redis would, so memory use stays bounded.
        records.retain(|_, (_, drop)| drop.is_none_or(|at| at > now));
        if records.contains_key(&registration.id) {
            return Err(StoreError::Corrupt {
                key: registration.id.to_string(),
                reason: "registration id already exists".into(),
            });
        }
        records.insert(registration.id.clone(), (registration.clone(), drop_at));
        Ok(())
    }

    async fn update(
        &self,
        registration: &Registration,
        expected_version: u64,
        drop_at: Option<i64>,
    ) -> Result<bool, StoreError> {
        let now = unix_now();
        let mut records = self.records();
        match records.get_mut(&registration.id) {
            Some((current, drop)) if current.version == expected_version && drop.is_none_or(|at| at > now) => {
                *current = registration.clone();
                *drop = drop_at;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn get(&self, id: &RegistrationId) -> Result<Option<Registration>, StoreError> {
        let now = unix_now();
        Ok(self
            .records()
            .get(id)
            .filter(|(_, drop)| drop.is_none_or(|at| at > now))
            .map(|(r, _)| r.clone()))
    }
}

#[async_trait::async_trait]
impl Reachable for MemoryRegistrationStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
