//! The claim ceremony (anonymous → claimed): the agent starts a claim for a human's
//! email, the human opens the mailed link, mints a 6-digit code, and reads it to the
//! agent, which completes the claim. Each step is a read-modify-write of the
//! registration, so replicas racing on one claim never both win.

mod challenge;
mod complete;
mod handle;
mod start;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::email::Email;

pub use challenge::{MintedCode, ViewedAttempt, mint_code, view_attempt};
pub use complete::{Completed, complete_claim};
pub use handle::SecretHandle;
pub use start::{StartedClaim, new_attempt, send_link, start_claim};

/// Hash contexts: a hash of one kind of secret never verifies as another.
pub const VIEW_TOKEN_CONTEXT: &str = "claim_view_token";
pub const OTP_CONTEXT: &str = "claim_otp";

/// A human's claim in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimAttempt {
    /// `att_` + 32 hex digits; shown to the agent so it can tell attempts apart.
    pub id: String,
    /// Where the link was mailed; becomes the owner when the claim completes.
    pub email: Email,
    /// Keyed hash of the link's secret.
    pub view_token_hash: String,
    pub link_expires_at: i64,
    /// The code the human minted last; every mint replaces it.
    pub otp: Option<Otp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Otp {
    /// Keyed hash of the code, bound to the attempt id.
    pub hash: String,
    pub expires_at: i64,
    /// Wrong codes tried against it; at the limit the code is dead.
    pub failures: u32,
}

impl ClaimAttempt {
    /// The link can still be used, or a code minted from it can still be entered.
    pub fn in_flight(&self, now: i64) -> bool {
        now < self.link_expires_at || self.otp.as_ref().is_some_and(|otp| now < otp.expires_at)
    }
}

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

/// `att_` + 128 random bits in hex.
fn new_attempt_id() -> String {
    let hex: String = shared::secrets::random_bytes(16)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("att_{hex}")
}
