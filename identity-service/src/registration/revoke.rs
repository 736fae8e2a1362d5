//! Revoking a registration: status `revoked`, the claim handle dropped, and (being
//! derived from the stored record) every replica refuses it at once.

use super::{Edit, RegistrationId, edit_registration};
use crate::error::IdentityError;
use crate::state::AppState;

/// Revokes the registration a provider delegation maps to; `None` when it maps to none.
pub async fn revoke_delegation(
    state: &AppState,
    iss: &str,
    sub: &str,
    now: i64,
) -> Result<Option<RegistrationId>, IdentityError> {
    let Some(id) = state.delegations.delegation(iss, sub).await? else {
        tracing::info!("revocation for an unknown delegation, nothing to do");
        return Ok(None);
    };
    edit_registration(&state.store, &id, state.policy.retention_after_expiry, |registration| {
        let Some(registration) = registration else {
            return Ok(Edit::Unchanged(()));
        };
        if registration.revoked_at.is_none() {
            registration.revoked_at = Some(now);
        }
        registration.claim_token_hash = None;
        registration.claim_attempt = None;
        Ok(Edit::Changed(()))
    })
    .await?;
    state.delegations.unlink_delegation(iss, sub).await?;
    tracing::info!(audit = "registration_revoked", registration_id = %id, "registration revoked by its provider");
    Ok(Some(id))
}
