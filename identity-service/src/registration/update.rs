//! Read-modify-write of one registration, safe across replicas: the store only accepts
//! the write if nobody else wrote since the read (compare-and-swap on `version`), and a
//! lost race re-reads and re-decides.

use std::time::Duration;

use super::record::{Registration, RegistrationId};
use super::store::RegistrationStore;
use crate::error::IdentityError;

/// What an edit decided.
#[derive(Debug)]
pub enum Edit<T> {
    /// Nothing to write; return `T`.
    Unchanged(T),
    /// Write the edited registration, then return `T`.
    Changed(T),
}

/// Conflicting writers retry this many times before the request gives up (503).
const MAX_ATTEMPTS: usize = 8;

/// Lets `decide` look at (and edit) registration `id` and stores the edit atomically.
/// `read` is the record if the caller already read it (`Some(None)`: read, and unknown);
/// otherwise, and after every lost race, it is read here. `decide` sees `None` for an
/// unknown registration and may run more than once.
pub async fn edit_registration<T>(
    store: &dyn RegistrationStore,
    (id, read): (&RegistrationId, Option<Option<Registration>>),
    retention_after_expiry: Duration,
    mut decide: impl FnMut(Option<&mut Registration>) -> Result<Edit<T>, IdentityError>,
) -> Result<T, IdentityError> {
    let mut read = read;
    for _ in 0..MAX_ATTEMPTS {
        let current = match read.take() {
            Some(current) => current,
            None => store.get(id).await?,
        };
        let Some(mut registration) = current else {
            return match decide(None)? {
                Edit::Unchanged(value) | Edit::Changed(value) => Ok(value),
            };
        };
        let read_version = registration.version;
        match decide(Some(&mut registration))? {
            Edit::Unchanged(value) => return Ok(value),
            Edit::Changed(value) => {
                registration.version = read_version + 1;
                let drop_at = registration.drop_at(retention_after_expiry);
                if store.update(&registration, read_version, drop_at).await? {
                    return Ok(value);
                }
                tracing::debug!(registration_id = %id, "concurrent update, retrying");
            }
        }
    }
    Err(IdentityError::Internal(format!(
        "registration {id} kept changing under us"
    )))
}
