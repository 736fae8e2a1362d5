use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use shared::store::StoreError;
use shared::time::unix_now;

use crate::refresh::RefreshFamily;
use crate::refresh::RefreshTokenStore;

/// Refresh families for the all-in-one runner and unit tests; the expired are swept as
/// new ones arrive.
#[derive(Debug, Default)]
pub struct MemoryRefreshTokens {
    families: Mutex<HashMap<String, (RefreshFamily, i64)>>,
}

impl MemoryRefreshTokens {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, (RefreshFamily, i64)>) -> T) -> T {
        let mut families = self.families.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut families)
    }
}

#[async_trait::async_trait]
impl RefreshTokenStore for MemoryRefreshTokens {
    async fn create(&self, family: &RefreshFamily, until: i64) -> Result<(), StoreError> {
        self.with(|families| {
            let now = unix_now();
            families.retain(|_, (_, until)| *until > now);
            if families.contains_key(&family.id) {
                return Err(StoreError::Corrupt {
                    key: family.id.clone(),
                    reason: "refresh family already exists".into(),
                });
            }
            families.insert(family.id.clone(), (family.clone(), until));
            Ok(())
        })
    }

    async fn get(&self, id: &str) -> Result<Option<RefreshFamily>, StoreError> {
        let now = unix_now();
        Ok(self.with(|families| {
            families
                .get(id)
                .filter(|(_, until)| *until > now)
                .map(|(family, _)| family.clone())
        }))
    }

    async fn replace_if_current(&self, family: &RefreshFamily, expected: &str, until: i64) -> Result<bool, StoreError> {
        let now = unix_now();
        Ok(self.with(|families| match families.get_mut(&family.id) {
            Some((stored, stored_until))
                if *stored_until > now && stored.current_hash == expected && stored.revoked_at.is_none() =>
            {
                *stored = family.clone();
                *stored_until = until;
                true
            }
            _ => false,
        }))
    }

    async fn put(&self, family: &RefreshFamily, until: i64) -> Result<(), StoreError> {
        self.with(|families| families.insert(family.id.clone(), (family.clone(), until)));
        Ok(())
    }
}
