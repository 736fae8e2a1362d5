use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use shared::store::{Reachable, StoreError};
use shared::time::unix_now;

use crate::registration::record::{Registration, RegistrationId};
use crate::registration::store::RegistrationStore;

/// Registrations in one process's memory. Dropped records are swept once the map has
/// doubled since the last sweep: amortised O(1) per registration, where sweeping on
/// every one made registering O(n) and held the lock every exchange reads through.
#[derive(Debug, Default)]
pub struct MemoryRegistrationStore {
    records: Mutex<Records>,
}

#[derive(Debug, Default)]
struct Records {
    by_id: HashMap<RegistrationId, (Registration, Option<i64>)>,
    swept_at_len: usize,
}

impl MemoryRegistrationStore {
    fn records(&self) -> MutexGuard<'_, Records> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl RegistrationStore for MemoryRegistrationStore {
    async fn create(&self, registration: &Registration, drop_at: Option<i64>) -> Result<(), StoreError> {
        let now = unix_now();
        let mut records = self.records();
        // Forget dropped records as Redis would, so memory stays bounded by what is live.
        if records.by_id.len() > 2 * records.swept_at_len.max(512) {
            records.by_id.retain(|_, (_, drop)| drop.is_none_or(|at| at > now));
            records.swept_at_len = records.by_id.len();
        }
        let dropped = records
            .by_id
            .get(&registration.id)
            .is_some_and(|(_, drop)| drop.is_some_and(|at| at <= now));
        if dropped {
            records.by_id.remove(&registration.id);
        }
        if records.by_id.contains_key(&registration.id) {
            return Err(StoreError::Corrupt {
                key: registration.id.to_string(),
                reason: "registration id already exists".into(),
            });
        }
        records
            .by_id
            .insert(registration.id.clone(), (registration.clone(), drop_at));
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
        match records.by_id.get_mut(&registration.id) {
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
            .by_id
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use protocol::scope::ScopeSet;

    use super::*;
    use crate::registration::record::RegistrationType;

    fn registration(now: i64) -> Registration {
        let scopes = ScopeSet::parse("agent:read").expect("scope");
        Registration::new(
            RegistrationType::Anonymous,
            now,
            Duration::from_secs(60),
            (scopes.clone(), scopes),
            "hash".into(),
        )
    }

    #[tokio::test]
    async fn dropped_registrations_are_swept_and_live_ones_kept() {
        let store = MemoryRegistrationStore::default();
        let now = unix_now();
        let live = registration(now);
        store.create(&live, None).await.expect("created");
        for _ in 0..10_000 {
            store.create(&registration(now), Some(now - 1)).await.expect("created");
        }
        let held = store.records().by_id.len();
        assert!(
            held <= 1_025,
            "memory bounded by what is live, not by all ever made: {held}"
        );
        assert!(
            store.get(&live.id).await.expect("read").is_some(),
            "a live record is never swept"
        );
    }
}
