use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use shared::store::{Reachable, StoreError};
use shared::time::unix_now;

use crate::clients::ClientStore;
use crate::clients::{Client, ClientId, WorkloadBinding};
use crate::revocation::DenylistStore;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Debug, Default)]
pub struct MemoryDenylist {
    until: Mutex<HashMap<String, i64>>,
}

#[async_trait::async_trait]
impl DenylistStore for MemoryDenylist {
    async fn deny(&self, jti: &str, until: i64) -> Result<(), StoreError> {
        let now = unix_now();
        let mut entries = lock(&self.until);
        entries.retain(|_, at| *at > now);
        entries.insert(jti.to_owned(), until);
        Ok(())
    }

    async fn is_denied(&self, jti: &str) -> Result<bool, StoreError> {
        Ok(lock(&self.until).get(jti).is_some_and(|at| *at > unix_now()))
    }
}

#[derive(Debug, Default)]
pub struct MemoryClientStore {
    clients: Mutex<HashMap<ClientId, Client>>,
    /// (issuer, subject, prefix) → the client bound to it.
    workloads: Mutex<HashMap<(String, String, bool), ClientId>>,
}

fn workload_key(binding: &WorkloadBinding) -> (String, String, bool) {
    (binding.issuer.clone(), binding.subject.clone(), binding.prefix)
}

#[async_trait::async_trait]
impl ClientStore for MemoryClientStore {
    async fn create(&self, client: &Client) -> Result<(), StoreError> {
        let mut clients = lock(&self.clients);
        if clients.contains_key(&client.client_id) {
            return Err(StoreError::Corrupt {
                key: client.client_id.to_string(),
                reason: "client id already exists".into(),
            });
        }
        clients.insert(client.client_id.clone(), client.clone());
        Ok(())
    }

    async fn get(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        Ok(lock(&self.clients).get(id).cloned())
    }

    async fn update(&self, client: &Client) -> Result<bool, StoreError> {
        let mut clients = lock(&self.clients);
        match clients.get_mut(&client.client_id) {
            Some(stored) => {
                *stored = client.clone();
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn list(&self) -> Result<Vec<Client>, StoreError> {
        let mut all: Vec<Client> = lock(&self.clients).values().cloned().collect();
        all.sort_by(|a, b| (a.created_at, a.client_id.as_str()).cmp(&(b.created_at, b.client_id.as_str())));
        Ok(all)
    }

    async fn delete(&self, id: &ClientId) -> Result<bool, StoreError> {
        Ok(lock(&self.clients).remove(id).is_some())
    }

    async fn bind_workload(&self, binding: &WorkloadBinding, id: &ClientId) -> Result<Option<ClientId>, StoreError> {
        let mut workloads = lock(&self.workloads);
        let holder = workloads.entry(workload_key(binding)).or_insert_with(|| id.clone());
        Ok((holder != id).then(|| holder.clone()))
    }

    async fn rebind_workload(&self, binding: &WorkloadBinding, id: &ClientId) -> Result<(), StoreError> {
        lock(&self.workloads).insert(workload_key(binding), id.clone());
        Ok(())
    }

    async fn unbind_workload(&self, binding: &WorkloadBinding, id: &ClientId) -> Result<(), StoreError> {
        let mut workloads = lock(&self.workloads);
        let key = workload_key(binding);
        if workloads.get(&key) == Some(id) {
            workloads.remove(&key);
        }
        Ok(())
    }

    async fn workload_client(&self, issuer: &str, subject: &str) -> Result<Option<ClientId>, StoreError> {
        let workloads = lock(&self.workloads);
        if let Some(id) = workloads.get(&(issuer.to_owned(), subject.to_owned(), false)) {
            return Ok(Some(id.clone()));
        }
        let longest = workloads
            .iter()
            .filter(|((iss, prefix, is_prefix), _)| {
                *is_prefix && iss == issuer && subject.len() > prefix.len() && subject.starts_with(prefix.as_str())
            })
            .max_by_key(|((_, prefix, _), _)| prefix.len());
        Ok(longest.map(|(_, id)| id.clone()))
    }
}

#[async_trait::async_trait]
impl Reachable for MemoryDenylist {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
