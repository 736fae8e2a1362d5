//! `POST /agent/identity/claim/complete`: the agent presents the code the human read to
//! it. Checks run in the protocol's order; at most `max_otp_failures` wrong codes per
//! minted code, after which even the right one is refused until the human mints anew.

use shared::audit::{self, Actor};

use super::{ClaimCeremony, OTP_CONTEXT};
use crate::error::IdentityError;
use crate::registration::{Edit, Registration, RegistrationType, SecretHandle};

#[derive(Debug)]
pub struct Completed {
    pub registration: Registration,
    /// An agent that had no identity assertion until now (it registered with a verified
    /// email, or through a step-up) gets its first one, with its `exp`.
    pub assertion: Option<(String, i64)>,
}

impl ClaimCeremony {
    pub async fn complete(&self, claim_token: &str, otp: &str, now: i64) -> Result<Completed, IdentityError> {
        let handle = SecretHandle::parse(claim_token).ok_or(IdentityError::InvalidClaimToken)?;
        if otp.len() != 6 || !otp.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdentityError::InvalidRequest("`otp` must be the 6-digit code".into()));
        }
        let outcome = self
            .registrations
            .edit(&handle.registration_id, None, |registration| {
                self.confirm(registration, &handle, otp, now)
            })
            .await
            .and_then(|outcome| outcome);
        match outcome {
            Ok(registration) => {
                let id = registration.id.as_str();
                if let Err(error) = self.record_ownership(&registration, now).await {
                    audit::record("claim_failed", Actor::Human, id, error.code());
                    return Err(error);
                }
                audit::record("claim_confirmed", Actor::Human, id, "success");
                let assertion = match registration.registration_type {
                    RegistrationType::Anonymous => None,
                    _ => Some(self.registrations.mint_assertion(&registration, now)?),
                };
                Ok(Completed {
                    registration,
                    assertion,
                })
            }
            Err(error) => {
                let id = handle.registration_id.as_str();
                audit::record("claim_failed", Actor::Registration(id), id, error.code());
                Err(error)
            }
        }
    }

    /// The protocol's checks in order; a wrong code is counted (and stored) before it is
    /// refused.
    fn confirm(
        &self,
        registration: Option<&mut Registration>,
        handle: &SecretHandle,
        otp: &str,
        now: i64,
    ) -> Result<Edit<Result<Registration, IdentityError>>, IdentityError> {
        let registration = registration.ok_or(IdentityError::InvalidClaimToken)?;
        self.ensure_claimable(registration, handle, now, IdentityError::PreviouslyClaimed)?;
        let attempt = registration
            .claim_attempt
            .as_mut()
            .ok_or(IdentityError::OtpNotGenerated)?;
        let attempt_id = attempt.id.clone();
        let code = attempt.otp.as_mut().ok_or(IdentityError::OtpNotGenerated)?;
        if now >= code.expires_at || code.failures >= self.settings.max_otp_failures {
            return Err(IdentityError::OtpExpired);
        }
        if !self
            .hasher
            .verify(OTP_CONTEXT, &format!("{attempt_id}:{otp}"), &code.hash)
        {
            code.failures += 1;
            return Ok(Edit::Changed(Err(IdentityError::OtpInvalid)));
        }
        let owner = attempt.email.clone();
        if registration.claim_email.as_ref().is_some_and(|bound| *bound != owner) {
            return Err(IdentityError::ClaimEmailMismatch);
        }
        registration.claim_attempt = None;
        registration.owner_email = Some(owner);
        registration.claimed_at = Some(now);
        Ok(Edit::Changed(Ok(registration.clone())))
    }

    /// The claim made a human an owner, and (after a step-up) confirmed a provider
    /// delegation: remember both so the next ID-JAG for them is recognised. A delegation
    /// its provider revoked meanwhile is not linked, and the registration dies with it.
    async fn record_ownership(&self, registration: &Registration, now: i64) -> Result<(), IdentityError> {
        if let Some(owner) = &registration.owner_email {
            self.registrations.record_owner(owner, &registration.id).await?;
        }
        if let Some(delegation) = &registration.delegation {
            self.registrations
                .link_delegation(delegation, &registration.id, now)
                .await?;
        }
        Ok(())
    }
}
