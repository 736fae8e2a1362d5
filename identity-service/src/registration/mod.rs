//! Registrations: the record, its derived status (DESIGN §5), what each status may be
//! granted, and [`Registrations`], the service that creates, edits and revokes them.
//! Everything the claim ceremony does to a registration goes through here.
//!
//! - [`record`]: the stored record, its status and its identifiers.
//! - [`handle`]: `<registration id>.<secret>` handles (claim tokens, claim links).
//! - [`policy`]: which paths are enabled and what each is granted.
//! - [`update`]: the compare-and-swap edit loop.
//! - [`binding`]: the DPoP key a registration request proves.
//! - [`store`]: where registrations, delegations and known humans are kept.
//! - `registrations`, `anonymous`, `delegated`, `revoke`: the [`Registrations`] service.

mod anonymous;
pub mod binding;
mod delegated;
pub mod handle;
pub mod policy;
pub mod record;
mod registrations;
mod revoke;
pub mod store;
pub mod update;

pub use anonymous::AnonymousRegistration;
pub use binding::KeyBinding;
pub use delegated::{Delegated, DelegatedRegistration, PendingDelegation};
pub use handle::{CLAIM_TOKEN_CONTEXT, SecretHandle};
pub use policy::{RegistrationPath, RegistrationPolicy};
pub use record::{
    AttemptId, ClaimAttempt, Delegation, GrantRefusal, Otp, Registration, RegistrationId, RegistrationStatus,
    RegistrationType,
};
pub use registrations::{RegistrationStores, Registrations};
pub use update::Edit;
