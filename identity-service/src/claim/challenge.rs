//! The human's side: the mailed link opens a page (GET, no side effect, so link scanners
//! burn nothing); its button mints a 6-digit code (POST). Every mint replaces the last
//! code and resets its failure count.

use super::{ClaimCeremony, OTP_CONTEXT, VIEW_TOKEN_CONTEXT};
use crate::email::Email;
use crate::error::IdentityError;
use crate::registration::{ClaimAttempt, Edit, Otp, Registration, SecretHandle};

/// What the page shows about the attempt behind a link.
#[derive(Debug, Clone)]
pub struct ViewedAttempt {
    pub registration_id: String,
    pub attempt_id: String,
    pub email: Email,
    pub link_expires_at: i64,
}

#[derive(Debug)]
pub struct MintedCode {
    pub code: String,
    pub expires_at: i64,
}

impl ClaimCeremony {
    pub async fn view_attempt(&self, view_token: &str, now: i64) -> Result<ViewedAttempt, IdentityError> {
        let handle = SecretHandle::parse(view_token).ok_or(IdentityError::InvalidClaimLink)?;
        let registration = self.registrations.get(&handle.registration_id).await?;
        let attempt = self.linked_attempt(registration.as_ref(), &handle, now)?;
        Ok(viewed(&handle, attempt))
    }

    /// One read, then (rate limit permitting) a compare-and-swap from that read.
    pub async fn mint_code(&self, view_token: &str, now: i64) -> Result<MintedCode, IdentityError> {
        let handle = SecretHandle::parse(view_token).ok_or(IdentityError::InvalidClaimLink)?;
        let id = &handle.registration_id;
        let read = self.registrations.get(id).await?;
        let attempt_id = self.linked_attempt(read.as_ref(), &handle, now)?.id.clone();
        let limit = self.limits.settings.challenges_per_attempt;
        self.limits
            .enforce(&format!("claim-challenge:{attempt_id}"), limit)
            .await?;
        let code = protocol::secrets::six_digit_code();
        let expires_at = now + self.settings.otp_ttl.as_secs() as i64;
        self.registrations
            .edit(id, Some(read), |registration| {
                self.linked_attempt(registration.as_deref(), &handle, now)?;
                let attempt = registration
                    .and_then(|r| r.claim_attempt.as_mut())
                    .ok_or(IdentityError::InvalidClaimLink)?;
                attempt.otp = Some(Otp {
                    hash: self.hasher.hash(OTP_CONTEXT, &format!("{}:{code}", attempt.id)),
                    expires_at,
                    failures: 0,
                });
                Ok(Edit::Changed(()))
            })
            .await?;
        tracing::info!(registration_id = %id, "claim code minted");
        Ok(MintedCode { code, expires_at })
    }

    /// The attempt that `handle` (the mailed link) opens, if it still may be used.
    fn linked_attempt<'r>(
        &self,
        registration: Option<&'r Registration>,
        handle: &SecretHandle,
        now: i64,
    ) -> Result<&'r ClaimAttempt, IdentityError> {
        let registration = registration.ok_or(IdentityError::InvalidClaimLink)?;
        if registration.revoked_at.is_some() {
            return Err(IdentityError::InvalidClaimLink);
        }
        if registration.claimed_at.is_some() {
            return Err(IdentityError::PreviouslyClaimed);
        }
        let attempt = registration
            .claim_attempt
            .as_ref()
            .filter(|a| handle.matches(&self.hasher, VIEW_TOKEN_CONTEXT, Some(&a.view_token_hash)))
            .ok_or(IdentityError::InvalidClaimLink)?;
        if now >= registration.claim_expires_at {
            return Err(IdentityError::ClaimExpired);
        }
        if now >= attempt.link_expires_at {
            return Err(IdentityError::ClaimLinkExpired);
        }
        Ok(attempt)
    }
}

fn viewed(handle: &SecretHandle, attempt: &ClaimAttempt) -> ViewedAttempt {
    ViewedAttempt {
        registration_id: handle.registration_id.to_string(),
        attempt_id: attempt.id.to_string(),
        email: attempt.email.clone(),
        link_expires_at: attempt.link_expires_at,
    }
}
