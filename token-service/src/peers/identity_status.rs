//! What identity-service says of what tokens rest on: a registration's revocation and
//! what its agent may hand on, a human's consent and what its client may hand on.

use proto::identity::v1 as pb;
use protocol::scope::ScopeSet;

use super::identity::{GRANT_STATUS, IdentityClient, STATUS, scopes, status_error};
use crate::error::OAuthError;

/// A human's grant as token exchange needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantStatus {
    pub active: bool,
    /// What of it the human let the client hand on (RFC 8693 delegation); `None`:
    /// nothing.
    pub delegable: Option<ScopeSet>,
}

impl IdentityClient {
    /// When the registration behind `subject` was revoked, if it was.
    pub async fn revoked_at(&self, subject: &str) -> Result<Option<i64>, OAuthError> {
        let status = self.registration_status(subject).await?;
        Ok((status.revoked_at > 0).then_some(status.revoked_at))
    }

    async fn registration_status(&self, subject: &str) -> Result<pb::GetRegistrationStatusResponse, OAuthError> {
        Ok(self
            .call(STATUS, |mut client| async move {
                let request = pb::GetRegistrationStatusRequest {
                    subject: subject.to_owned(),
                };
                client.get_registration_status(request).await
            })
            .await
            .map_err(status_error)?
            .into_inner())
    }

    /// What the agent `subject` may hand on by token exchange now (before its claim,
    /// what it holds; once claimed, what its owner allowed); `None`: nothing.
    pub async fn delegable(&self, subject: &str) -> Result<Option<ScopeSet>, OAuthError> {
        let status = self.registration_status(subject).await?;
        status
            .may_delegate
            .then(|| scopes(&status.delegable_scopes))
            .transpose()
    }

    /// Whether the consent `grant_id` names still stands.
    pub async fn grant_active(&self, grant_id: &str) -> Result<bool, OAuthError> {
        Ok(self.grant_status(grant_id).await?.active)
    }

    /// Whether the grant stands, and whether its human let the client hand it on.
    pub async fn grant_status(&self, grant_id: &str) -> Result<GrantStatus, OAuthError> {
        let status = self
            .call(GRANT_STATUS, |mut client| async move {
                let request = pb::GetGrantStatusRequest {
                    grant_id: grant_id.to_owned(),
                };
                client.get_grant_status(request).await
            })
            .await
            .map_err(status_error)?
            .into_inner();
        let delegable = (status.active && status.delegable).then(|| scopes(&status.delegable_scopes));
        Ok(GrantStatus {
            active: status.active,
            delegable: delegable.transpose()?,
        })
    }
}
