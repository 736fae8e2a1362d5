//! `POST /agent/identity/claim`: the agent names the human's email; the human gets a
//! one-time link. Re-posting the same email while the link works changes nothing and
//! sends nothing; another email (or an expired link) starts a new attempt and kills the
//! old link. After a step-up, only the human the provider named may be mailed.

use super::ClaimCeremony;
use super::link::audit_claim_started;
use crate::email::Email;
use crate::error::IdentityError;
use crate::registration::{ClaimAttempt, Edit, Registration, SecretHandle};

#[derive(Debug, Clone)]
pub struct StartedClaim {
    pub registration_id: String,
    pub attempt_id: String,
    pub link_expires_at: i64,
}

/// What a start request does to the registration as it stands.
enum Start {
    /// The current attempt already covers it: nothing to send.
    Current(StartedClaim),
    /// A new attempt replaces whatever was there.
    Replace,
}

impl ClaimCeremony {
    pub async fn start(&self, claim_token: &str, email: &str, now: i64) -> Result<StartedClaim, IdentityError> {
        let handle = SecretHandle::parse(claim_token).ok_or(IdentityError::InvalidClaimToken)?;
        let email = Email::parse(email).map_err(|_| IdentityError::InvalidEmail)?;
        let id = handle.registration_id.clone();
        let limit = self.limits.settings.claim_starts_per_registration;
        self.limits.enforce(&format!("claim-start:{id}"), limit).await?;

        // Decide on what is stored, mail only then, and store the attempt only once its
        // link is out: a mail outage writes nothing.
        let read = self.registrations.get(&id).await?;
        if let Start::Current(started) = self.decide(read.as_ref(), &handle, &email, now)? {
            return Ok(started);
        }
        let new = self.new_attempt(&id, email.clone(), now);
        self.send_link(&new, &id).await?;
        let started = self
            .registrations
            .edit(&id, Some(read), |registration| {
                // Someone else's attempt for this email may have won meanwhile: it stands,
                // and the link just mailed is dead.
                match self.decide(registration.as_deref(), &handle, &email, now)? {
                    Start::Current(started) => Ok(Edit::Unchanged(started)),
                    Start::Replace => {
                        let Some(registration) = registration else {
                            return Err(IdentityError::InvalidClaimToken);
                        };
                        registration.claim_attempt = Some(new.attempt.clone());
                        Ok(Edit::Changed(started(registration, &new.attempt)))
                    }
                }
            })
            .await?;
        audit_claim_started(&id);
        Ok(started)
    }

    fn decide(
        &self,
        registration: Option<&Registration>,
        handle: &SecretHandle,
        email: &Email,
        now: i64,
    ) -> Result<Start, IdentityError> {
        let registration = registration.ok_or(IdentityError::InvalidClaimToken)?;
        self.ensure_claimable(registration, handle, now, IdentityError::ClaimedOrInFlight)?;
        if registration.claim_email.as_ref().is_some_and(|bound| bound != email) {
            return Err(IdentityError::ClaimEmailMismatch);
        }
        let Some(current) = &registration.claim_attempt else {
            return Ok(Start::Replace);
        };
        if current.email == *email && now < current.link_expires_at {
            return Ok(Start::Current(started(registration, current)));
        }
        let code_live = current
            .otp
            .as_ref()
            .is_some_and(|otp| now < otp.expires_at && otp.failures < self.settings.max_otp_failures);
        if current.email != *email && code_live {
            return Err(IdentityError::ClaimedOrInFlight);
        }
        Ok(Start::Replace)
    }
}

fn started(registration: &Registration, attempt: &ClaimAttempt) -> StartedClaim {
    StartedClaim {
        registration_id: registration.id.to_string(),
        attempt_id: attempt.id.to_string(),
        link_expires_at: attempt.link_expires_at,
    }
}
