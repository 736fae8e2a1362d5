//! Test support (feature `testing`): registrations in states the HTTP surface cannot
//! produce on demand (claimed, expired, revoked), written straight into a store the
//! service under test reads.

use std::time::Duration;

use protocol::scope::ScopeSet;
use shared::time::unix_now;

use crate::registration::store::RegistrationStore;
use crate::registration::{Registration, RegistrationType};

/// A `kind` registration created now, with the default scopes (`agent:read` before the
/// claim, `agent:read agent:write` after) and a one-hour claim window, changed by `edit`
/// and stored with no expiry.
#[allow(clippy::expect_used)]
pub async fn put_registration(
    store: &dyn RegistrationStore,
    kind: RegistrationType,
    edit: impl FnOnce(&mut Registration),
) -> Registration {
    let scopes = (
        ScopeSet::parse("agent:read").expect("scope"),
        ScopeSet::parse("agent:read agent:write").expect("scope"),
    );
    let mut registration = Registration::new(kind, unix_now(), Duration::from_secs(3600), scopes, "hash".into());
    edit(&mut registration);
    store.create(&registration, None).await.expect("stored");
    registration
}
