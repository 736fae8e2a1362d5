//! The claim ceremony: a human confirms an agent. The agent starts a claim for a human's
//! email (or registration starts one: a verified-email registration, an ID-JAG step-up),
//! the human opens the mailed link, mints a 6-digit code, and reads it to the agent,
//! which completes the claim. Each step is a read-modify-write of the registration
//! through [`Registrations`], so replicas racing on one claim never both win.
//!
//! - `start`: `POST /agent/identity/claim`.
//! - `challenge`: the human's link and code.
//! - `complete`: `POST /agent/identity/claim/complete`.
//! - `enroll`: registrations that start with a claim (verified email, step-up).
//! - `link`: the mailed link.

mod challenge;
mod complete;
mod enroll;
mod link;
mod start;

use std::sync::Arc;
use std::time::Duration;

use protocol::secrets::SecretHasher;
use serde::{Deserialize, Serialize};

use crate::error::IdentityError;
use crate::mail::Mailer;
use crate::ratelimit::RateLimits;
use crate::registration::{CLAIM_TOKEN_CONTEXT, Registration, Registrations, SecretHandle};

pub use challenge::{MintedCode, ViewedAttempt};
pub use complete::Completed;
pub use enroll::{ClaimBlock, EmailRegistration, IdJagOutcome};
pub use start::StartedClaim;

/// Hash contexts: a hash of one kind of secret never verifies as another.
pub const VIEW_TOKEN_CONTEXT: &str = "claim_view_token";
pub const OTP_CONTEXT: &str = "claim_otp";

/// The ceremony's rules an operator configures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClaimSettings {
    /// How long the mailed link works.
    #[serde(with = "humantime_serde")]
    pub link_ttl: Duration,
    /// How long a minted code works.
    #[serde(with = "humantime_serde")]
    pub otp_ttl: Duration,
    /// Wrong codes after which a code is dead and the human must mint another.
    pub max_otp_failures: u32,
}

impl Default for ClaimSettings {
    fn default() -> Self {
        Self {
            link_ttl: Duration::from_secs(600),
            otp_ttl: Duration::from_secs(600),
            max_otp_failures: 5,
        }
    }
}

/// Everything the ceremony touches.
#[derive(Debug)]
pub struct ClaimCeremony {
    registrations: Arc<Registrations>,
    hasher: SecretHasher,
    mailer: Arc<dyn Mailer>,
    limits: RateLimits,
    settings: ClaimSettings,
    /// Public base URL, for the links and the claim endpoint we hand out.
    issuer: String,
}

impl ClaimCeremony {
    pub fn new(
        registrations: Arc<Registrations>,
        (hasher, mailer): (SecretHasher, Arc<dyn Mailer>),
        limits: RateLimits,
        settings: ClaimSettings,
        issuer: &str,
    ) -> Self {
        Self {
            registrations,
            hasher,
            mailer,
            limits,
            settings,
            issuer: issuer.to_owned(),
        }
    }

    /// `registration` is behind a valid claim token and can still be claimed; `claimed`
    /// is the error for one already claimed (each endpoint names it its own way).
    fn ensure_claimable(
        &self,
        registration: &Registration,
        handle: &SecretHandle,
        now: i64,
        claimed: IdentityError,
    ) -> Result<(), IdentityError> {
        let token = registration.claim_token_hash.as_deref();
        if registration.revoked_at.is_some() || !handle.matches(&self.hasher, CLAIM_TOKEN_CONTEXT, token) {
            return Err(IdentityError::InvalidClaimToken);
        }
        if registration.claimed_at.is_some() {
            return Err(claimed);
        }
        if now >= registration.claim_expires_at {
            return Err(IdentityError::ClaimExpired);
        }
        Ok(())
    }

    /// Where the human's page posts to mint a code.
    pub fn challenge_url(&self) -> String {
        self.url("/agent/identity/claim/attempt/challenge")
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}
