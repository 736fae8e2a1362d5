use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use shared::store::{Reachable, StoreError};

use crate::keys::StoredKey;
use crate::keys::store::KeyStore;

#[derive(Debug, Default)]
pub struct MemoryKeyStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    keys: HashMap<String, StoredKey>,
    slots: HashMap<String, String>,
    lease: Option<(String, Instant)>,
}

impl MemoryKeyStore {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl KeyStore for MemoryKeyStore {
    async fn all(&self) -> Result<Vec<StoredKey>, StoreError> {
        Ok(self.state().keys.values().cloned().collect())
    }

    async fn insert_for_slot(&self, slot: &str, key: &StoredKey) -> Result<bool, StoreError> {
        let mut state = self.state();
        if state.slots.contains_key(slot) {
            return Ok(false);
        }
        state.slots.insert(slot.to_owned(), key.kid.clone());
        state.keys.insert(key.kid.clone(), key.clone());
        Ok(true)
    }

    async fn remove(&self, kid: &str) -> Result<(), StoreError> {
        self.state().keys.remove(kid);
        Ok(())
    }

    async fn replace(&self, key: &StoredKey) -> Result<bool, StoreError> {
        let mut state = self.state();
        match state.keys.get_mut(&key.kid) {
            Some(stored) => {
                *stored = key.clone();
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn lease(&self, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        let mut state = self.state();
        let now = Instant::now();
        let free = match &state.lease {
            Some((current, until)) => current == holder || *until <= now,
            None => true,
        };
        if free {
            state.lease = Some((holder.to_owned(), now + ttl));
        }
        Ok(free)
    }
}

#[async_trait::async_trait]
impl Reachable for MemoryKeyStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
