//! The human's side: the mailed link opens a page (GET, no side effect, so link scanners
//! burn nothing); its button mints a 6-digit code (POST). Every mint replaces the last
//! code and resets its failure count.

use super::{ClaimAttempt, OTP_CONTEXT, Otp, SecretHandle, VIEW_TOKEN_CONTEXT};
use crate::email::Email;
use crate::error::IdentityError;
use crate::registration::{Edit, Registration, edit_registration};
use crate::state::AppState;

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

pub async fn view_attempt(state: &AppState, view_token: &str, now: i64) -> Result<ViewedAttempt, IdentityError> {
    let handle = SecretHandle::parse(view_token).ok_or(IdentityError::InvalidClaimLink)?;
    let mut registration = state.store.get(&handle.registration_id).await?;
    let attempt = linked_attempt(registration.as_mut(), &handle, state, now)?;
    Ok(ViewedAttempt {
        registration_id: handle.registration_id.to_string(),
        attempt_id: attempt.id.clone(),
        email: attempt.email.clone(),
        link_expires_at: attempt.link_expires_at,
    })
}

pub async fn mint_code(state: &AppState, view_token: &str, now: i64) -> Result<MintedCode, IdentityError> {
    let viewed = view_attempt(state, view_token, now).await?;
    let handle = SecretHandle::parse(view_token).ok_or(IdentityError::InvalidClaimLink)?;
    let bucket = format!("claim-challenge:{}", viewed.attempt_id);
    state
        .enforce_limit(&bucket, state.limits.challenges_per_attempt)
        .await?;
    let code = six_digits();
    let expires_at = now + state.claim.otp_ttl.as_secs() as i64;
    let retention = state.policy.retention_after_expiry;
    edit_registration(&state.store, &handle.registration_id, retention, |registration| {
        let attempt = linked_attempt(registration, &handle, state, now)?;
        attempt.otp = Some(Otp {
            hash: state.hasher.hash(OTP_CONTEXT, &format!("{}:{code}", attempt.id)),
            expires_at,
            failures: 0,
        });
        Ok(Edit::Changed(()))
    })
    .await?;
    tracing::info!(registration_id = %viewed.registration_id, "claim code minted");
    Ok(MintedCode { code, expires_at })
}

/// The attempt that `handle` (the mailed link) opens, if it still may be used.
fn linked_attempt<'r>(
    registration: Option<&'r mut Registration>,
    handle: &SecretHandle,
    state: &AppState,
    now: i64,
) -> Result<&'r mut ClaimAttempt, IdentityError> {
    let registration = registration.ok_or(IdentityError::InvalidClaimLink)?;
    if registration.revoked_at.is_some() {
        return Err(IdentityError::InvalidClaimLink);
    }
    if registration.claimed_at.is_some() {
        return Err(IdentityError::PreviouslyClaimed);
    }
    let claim_expired = now >= registration.claim_expires_at;
    let attempt = registration
        .claim_attempt
        .as_mut()
        .filter(|a| handle.matches(&state.hasher, VIEW_TOKEN_CONTEXT, Some(&a.view_token_hash)))
        .ok_or(IdentityError::InvalidClaimLink)?;
    if claim_expired {
        return Err(IdentityError::ClaimExpired);
    }
    if now >= attempt.link_expires_at {
        return Err(IdentityError::ClaimLinkExpired);
    }
    Ok(attempt)
}

/// A uniformly random 6-digit code from the OS CSPRNG (rejection sampling: no modulo bias).
fn six_digits() -> String {
    const RANGE: u32 = 1_000_000;
    const LIMIT: u32 = u32::MAX - (u32::MAX % RANGE);
    loop {
        let bytes = shared::secrets::random_bytes(4);
        let n = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        if n < LIMIT {
            return format!("{:06}", n % RANGE);
        }
    }
}
