//! The registration rules an operator configures.

use std::time::Duration;

use protocol::scope::ScopeSet;

use crate::error::IdentityError;

#[derive(Debug, Clone)]
pub struct RegistrationPolicy {
    pub anonymous_enabled: bool,
    pub verified_email_enabled: bool,
    pub id_jag_enabled: bool,
    pub claim_window: Duration,
    pub retention_after_expiry: Duration,
    pub pre_claim_scopes: ScopeSet,
    pub post_claim_scopes: ScopeSet,
    /// Registrations must prove a DPoP key, which their assertions are bound to.
    pub require_dpop: bool,
}

/// The three ways to register (DESIGN §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationPath {
    Anonymous,
    VerifiedEmail,
    IdJag,
}

impl RegistrationPolicy {
    /// `*_not_enabled` when the operator switched `path` off.
    pub fn ensure_enabled(&self, path: RegistrationPath) -> Result<(), IdentityError> {
        let (enabled, code) = match path {
            RegistrationPath::Anonymous => (self.anonymous_enabled, "anonymous_not_enabled"),
            RegistrationPath::VerifiedEmail => (self.verified_email_enabled, "verified_email_not_enabled"),
            RegistrationPath::IdJag => (self.id_jag_enabled, "identity_assertion_not_enabled"),
        };
        if enabled {
            Ok(())
        } else {
            Err(IdentityError::PathNotEnabled(code))
        }
    }
}
