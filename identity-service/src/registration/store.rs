//! Where registrations, provider delegations and known humans are kept: the traits the
//! registration domain needs, implemented in `crate::store`.

use shared::store::{Reachable, StoreError};

use super::record::{Registration, RegistrationId};
use crate::email::Email;

#[async_trait::async_trait]
pub trait RegistrationStore: Reachable + std::fmt::Debug {
    /// Stores a new registration; `drop_at` (Unix seconds) lets the store forget it then.
    async fn create(&self, registration: &Registration, drop_at: Option<i64>) -> Result<(), StoreError>;
    /// One read: the hot path of every token exchange.
    async fn get(&self, id: &RegistrationId) -> Result<Option<Registration>, StoreError>;
    /// Replaces the stored registration only if its `version` is still `expected_version`
    /// (atomic across replicas); `false` when someone else wrote first or it is gone.
    /// `drop_at` replaces the expiry (`None`: keep forever).
    async fn update(
        &self,
        registration: &Registration,
        expected_version: u64,
        drop_at: Option<i64>,
    ) -> Result<bool, StoreError>;
}

/// Which registration a provider's `(iss, sub)` delegation maps to.
#[async_trait::async_trait]
pub trait DelegationStore: Send + Sync + std::fmt::Debug {
    async fn delegation(&self, iss: &str, sub: &str) -> Result<Option<RegistrationId>, StoreError>;
    /// Links the delegation unless it is already linked; returns the registration it maps
    /// to afterwards (ours, or the one a racing replica linked first).
    async fn link_delegation(&self, iss: &str, sub: &str, id: &RegistrationId) -> Result<RegistrationId, StoreError>;
    async fn unlink_delegation(&self, iss: &str, sub: &str) -> Result<(), StoreError>;
    /// Records that the provider revoked `(iss, sub)`: whatever it asserted up to `cutoff`
    /// (Unix seconds) no longer counts. Remembered until `until`.
    async fn record_revocation(&self, iss: &str, sub: &str, cutoff: i64, until: i64) -> Result<(), StoreError>;
    /// The cutoff of the revocation of `(iss, sub)` still remembered, if any.
    async fn revoked_through(&self, iss: &str, sub: &str) -> Result<Option<i64>, StoreError>;
}

/// Humans who own at least one claimed registration, by email, and what they own.
#[async_trait::async_trait]
pub trait UserDirectory: Send + Sync + std::fmt::Debug {
    async fn user_exists(&self, email: &Email) -> Result<bool, StoreError>;
    /// Records that `email` owns registration `id` (and so is a known human).
    async fn record_owned(&self, email: &Email, id: &RegistrationId) -> Result<(), StoreError>;
    /// Every registration `email` was recorded owning, in no order.
    async fn owned_by(&self, email: &Email) -> Result<Vec<RegistrationId>, StoreError>;
}
