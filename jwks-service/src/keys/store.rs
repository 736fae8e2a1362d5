//! Where signing keys are kept: the trait the key manager needs, implemented in
//! `crate::store`.

use std::time::Duration;

use shared::store::{Reachable, StoreError};

use super::material::StoredKey;

#[async_trait::async_trait]
pub trait KeyStore: Reachable + std::fmt::Debug {
    /// Every stored key (next, active, retiring; retired ones are removed).
    async fn all(&self) -> Result<Vec<StoredKey>, StoreError>;
    /// Stores `key` as the one key of `slot` unless the slot is taken (atomic across
    /// replicas): a slot is never filled twice, even by two schedulers.
    async fn insert_for_slot(&self, slot: &str, key: &StoredKey) -> Result<bool, StoreError>;
    async fn remove(&self, kid: &str) -> Result<(), StoreError>;
    /// Replaces a stored key's record (same kid); `false` if it is gone.
    async fn replace(&self, key: &StoredKey) -> Result<bool, StoreError>;
    /// Takes or renews the scheduling lease for `holder`; `false` while another holds it.
    async fn lease(&self, holder: &str, ttl: Duration) -> Result<bool, StoreError>;
}
