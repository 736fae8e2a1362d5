//! `POST /agent/identity/claim`: the agent names the human's email; the human gets a
//! one-time link. Re-posting the same email while the link works changes nothing and
//! sends nothing; another email (or an expired link) starts a new attempt and kills the
//! old link.

use shared::secrets::SecretHasher;

use super::{ClaimAttempt, SecretHandle, VIEW_TOKEN_CONTEXT, new_attempt_id};
use crate::email::Email;
use crate::error::IdentityError;
use crate::mail::Mail;
use crate::registration::{CLAIM_TOKEN_CONTEXT, Edit, Registration, RegistrationId, edit_registration};
use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct StartedClaim {
    pub registration_id: String,
    pub attempt_id: String,
    pub link_expires_at: i64,
}

pub async fn start_claim(
    state: &AppState,
    claim_token: &str,
    email: &str,
    now: i64,
) -> Result<StartedClaim, IdentityError> {
    let handle = SecretHandle::parse(claim_token).ok_or(IdentityError::InvalidClaimToken)?;
    let email = Email::parse(email).map_err(|_| IdentityError::InvalidEmail)?;
    let id = handle.registration_id.clone();
    state
        .enforce_limit(&format!("claim-start:{id}"), state.limits.claim_starts_per_registration)
        .await?;

    let (fresh, view) = new_attempt(state, &id, email.clone(), now);
    let retention = state.policy.retention_after_expiry;
    let started = edit_registration(&state.store, &id, retention, |registration| {
        let registration = claimable(registration, &handle, &state.hasher, now)?;
        if registration.claim_email.as_ref().is_some_and(|bound| *bound != email) {
            return Err(IdentityError::ClaimEmailMismatch);
        }
        if let Some(current) = &registration.claim_attempt {
            if current.email == email && now < current.link_expires_at {
                return Ok(Edit::Unchanged(started(registration, current, false)));
            }
            let code_live = current
                .otp
                .as_ref()
                .is_some_and(|otp| now < otp.expires_at && otp.failures < state.claim.max_otp_failures);
            if current.email != email && code_live {
                return Err(IdentityError::ClaimedOrInFlight);
            }
        }
        registration.claim_attempt = Some(fresh.clone());
        Ok(Edit::Changed(started(registration, &fresh, true)))
    })
    .await?;
    if started.1 {
        send_link(state, &fresh, &view, &id).await?;
        let registration_id = id.as_str();
        shared::audit::record(
            "claim_started",
            shared::audit::Actor::Registration(registration_id),
            registration_id,
            "success",
        );
    }
    Ok(started.0)
}

fn started(registration: &Registration, attempt: &ClaimAttempt, is_new: bool) -> (StartedClaim, bool) {
    let claim = StartedClaim {
        registration_id: registration.id.to_string(),
        attempt_id: attempt.id.clone(),
        link_expires_at: attempt.link_expires_at,
    };
    (claim, is_new)
}

/// The registration behind a valid claim token that can still be claimed.
pub(super) fn claimable<'r>(
    registration: Option<&'r mut Registration>,
    handle: &SecretHandle,
    hasher: &SecretHasher,
    now: i64,
) -> Result<&'r mut Registration, IdentityError> {
    let registration = registration.ok_or(IdentityError::InvalidClaimToken)?;
    if registration.revoked_at.is_some()
        || !handle.matches(hasher, CLAIM_TOKEN_CONTEXT, registration.claim_token_hash.as_deref())
    {
        return Err(IdentityError::InvalidClaimToken);
    }
    if registration.claimed_at.is_some() {
        return Err(IdentityError::ClaimedOrInFlight);
    }
    if now >= registration.claim_expires_at {
        return Err(IdentityError::ClaimExpired);
    }
    Ok(registration)
}

/// A new attempt for `email` and the link handle that opens it.
pub fn new_attempt(state: &AppState, id: &RegistrationId, email: Email, now: i64) -> (ClaimAttempt, SecretHandle) {
    let view = SecretHandle::generate(id);
    let attempt = ClaimAttempt {
        id: new_attempt_id(),
        email,
        view_token_hash: view.hash(&state.hasher, VIEW_TOKEN_CONTEXT),
        link_expires_at: now + state.claim.link_ttl.as_secs() as i64,
        otp: None,
    };
    (attempt, view)
}

/// Mails the link; if that fails, withdraws the attempt so a retry starts afresh rather
/// than "re-using" a link nobody received.
pub async fn send_link(
    state: &AppState,
    attempt: &ClaimAttempt,
    view: &SecretHandle,
    id: &RegistrationId,
) -> Result<(), IdentityError> {
    let link = format!("{}/agent/identity/claim/view?token={view}", state.issuer);
    let minutes = state.claim.link_ttl.as_secs().div_ceil(60);
    let mail = Mail {
        to: attempt.email.clone(),
        subject: "Confirm an AI agent for your account".into(),
        text: format!(
            "An AI agent (registration {id}) asked to be linked to this email address.\n\n\
             If that was you, open this link within {minutes} minutes, press the button, and\n\
             give the code it shows to your agent:\n\n{link}\n\n\
             If you did not expect this, ignore this message: nothing happens without the code.\n"
        ),
    };
    let Err(error) = state.mailer.send(&mail).await else {
        return Ok(());
    };
    tracing::warn!(registration_id = %id, %error, "claim link not sent, withdrawing the attempt");
    let retention = state.policy.retention_after_expiry;
    let withdrawn = edit_registration(&state.store, id, retention, |registration| {
        Ok(match registration {
            Some(r) if r.claim_attempt.as_ref().is_some_and(|a| a.id == attempt.id) => {
                r.claim_attempt = None;
                Edit::Changed(())
            }
            _ => Edit::Unchanged(()),
        })
    })
    .await;
    if let Err(cleanup) = withdrawn {
        tracing::warn!(registration_id = %id, error = %cleanup, "could not withdraw the unsent attempt");
    }
    Err(IdentityError::MailUnavailable(error.to_string()))
}
