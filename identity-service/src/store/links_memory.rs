use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

use shared::jose::unix_now;
use shared::store::StoreError;

use super::{DelegationStore, ReplayCache, UserDirectory};
use crate::email::Email;
use crate::registration::RegistrationId;

/// Delegations, users and the replay cache, for the all-in-one runner and unit tests.
#[derive(Debug, Default)]
pub struct MemoryLinks {
    delegations: Mutex<HashMap<(String, String), RegistrationId>>,
    users: Mutex<HashSet<String>>,
    seen: Mutex<HashMap<(String, String), i64>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[async_trait::async_trait]
impl DelegationStore for MemoryLinks {
    async fn delegation(&self, iss: &str, sub: &str) -> Result<Option<RegistrationId>, StoreError> {
        Ok(lock(&self.delegations).get(&(iss.to_owned(), sub.to_owned())).cloned())
    }

    async fn link_delegation(&self, iss: &str, sub: &str, id: &RegistrationId) -> Result<RegistrationId, StoreError> {
        let mut delegations = lock(&self.delegations);
        Ok(delegations
            .entry((iss.to_owned(), sub.to_owned()))
            .or_insert_with(|| id.clone())
            .clone())
    }

    async fn unlink_delegation(&self, iss: &str, sub: &str) -> Result<(), StoreError> {
        lock(&self.delegations).remove(&(iss.to_owned(), sub.to_owned()));
        Ok(())
    }
}

#[async_trait::async_trait]
impl UserDirectory for MemoryLinks {
    async fn user_exists(&self, email: &Email) -> Result<bool, StoreError> {
        Ok(lock(&self.users).contains(&email.normalized()))
    }

    async fn record_user(&self, email: &Email) -> Result<(), StoreError> {
        lock(&self.users).insert(email.normalized());
        Ok(())
    }
}

#[async_trait::async_trait]
impl ReplayCache for MemoryLinks {
    async fn first_use(&self, iss: &str, jti: &str, until: i64) -> Result<bool, StoreError> {
        let now = unix_now();
        let mut seen = lock(&self.seen);
        seen.retain(|_, until| *until > now);
        let key = (iss.to_owned(), jti.to_owned());
        if seen.contains_key(&key) {
            return Ok(false);
        }
        seen.insert(key, until);
        Ok(true)
    }
}
