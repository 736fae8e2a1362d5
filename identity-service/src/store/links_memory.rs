use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

use shared::store::StoreError;
use shared::time::unix_now;

use crate::email::Email;
use crate::registration::record::RegistrationId;
use crate::registration::store::{DelegationStore, UserDirectory};

/// Delegations, revocations and users, for the all-in-one runner and unit tests.
#[derive(Debug, Default)]
pub struct MemoryLinks {
    delegations: Mutex<HashMap<(String, String), RegistrationId>>,
    users: Mutex<HashSet<String>>,
    /// Normalized email → the registrations it owns.
    owned: Mutex<HashMap<String, Vec<RegistrationId>>>,
    /// `(iss, sub)` → (cutoff, until).
    revocations: Mutex<HashMap<(String, String), (i64, i64)>>,
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

    async fn record_revocation(&self, iss: &str, sub: &str, cutoff: i64, until: i64) -> Result<(), StoreError> {
        let now = unix_now();
        let mut revocations = lock(&self.revocations);
        revocations.retain(|_, (_, until)| *until > now);
        revocations.insert((iss.to_owned(), sub.to_owned()), (cutoff, until));
        Ok(())
    }

    async fn revoked_through(&self, iss: &str, sub: &str) -> Result<Option<i64>, StoreError> {
        let now = unix_now();
        let revocations = lock(&self.revocations);
        Ok(revocations
            .get(&(iss.to_owned(), sub.to_owned()))
            .filter(|(_, until)| *until > now)
            .map(|(cutoff, _)| *cutoff))
    }
}

#[async_trait::async_trait]
impl UserDirectory for MemoryLinks {
    async fn user_exists(&self, email: &Email) -> Result<bool, StoreError> {
        Ok(lock(&self.users).contains(&email.normalized()))
    }

    async fn owned_by(&self, email: &Email) -> Result<Vec<RegistrationId>, StoreError> {
        Ok(lock(&self.owned).get(&email.normalized()).cloned().unwrap_or_default())
    }

    async fn record_owned(&self, email: &Email, id: &RegistrationId) -> Result<(), StoreError> {
        lock(&self.users).insert(email.normalized());
        let mut owned = lock(&self.owned);
        let ids = owned.entry(email.normalized()).or_default();
        if !ids.contains(id) {
            ids.push(id.clone());
        }
        Ok(())
    }
}
