//! The gRPC client of identity-service: one bounded `ValidateAssertion` call per
//! exchange. Generated protobuf types stop here.

use proto::identity::v1 as pb;
use proto::identity::v1::identity_service_client::IdentityServiceClient;
use shared::scope::ScopeSet;
use tonic::Code;
use tonic::transport::Channel;

use crate::error::OAuthError;

/// What identity-service allows for a valid assertion.
#[derive(Debug)]
pub struct Grantable {
    pub subject: String,
    pub client_id: String,
    pub scopes: ScopeSet,
}

#[derive(Debug, Clone)]
pub struct IdentityClient {
    client: IdentityServiceClient<Channel>,
}

impl IdentityClient {
    pub fn new(channel: Channel) -> Self {
        Self {
            client: IdentityServiceClient::new(channel),
        }
    }

    pub async fn validate(&self, assertion: &str) -> Result<Grantable, OAuthError> {
        let request = pb::ValidateAssertionRequest {
            assertion: assertion.to_owned(),
        };
        let response = self
            .client
            .clone()
            .validate_assertion(request)
            .await
            .map_err(status_error)?;
        match response.into_inner().outcome {
            Some(pb::validate_assertion_response::Outcome::Grantable(grant)) => Ok(Grantable {
                subject: grant.subject,
                client_id: grant.client_id,
                scopes: ScopeSet::from_tokens(&grant.grantable_scopes)
                    .map_err(|e| OAuthError::ServerError(format!("identity-service sent a bad scope: {e}")))?,
            }),
            Some(pb::validate_assertion_response::Outcome::Refused(refusal)) => Err(refusal_error(refusal)),
            None => Err(OAuthError::ServerError("identity-service sent no outcome".into())),
        }
    }
}

impl IdentityClient {
    /// When the registration behind `subject` was revoked, if it was.
    pub async fn revoked_at(&self, subject: &str) -> Result<Option<i64>, OAuthError> {
        let request = pb::GetRegistrationStatusRequest {
            subject: subject.to_owned(),
        };
        let status = self
            .client
            .clone()
            .get_registration_status(request)
            .await
            .map_err(status_error)?
            .into_inner();
        Ok((status.revoked_at > 0).then_some(status.revoked_at))
    }
}

fn refusal_error(refusal: pb::Refusal) -> OAuthError {
    match pb::RefusalReason::try_from(refusal.reason) {
        Ok(pb::RefusalReason::UserAuthenticationRequired) => {
            OAuthError::InsufficientUserAuthentication(refusal.description)
        }
        _ => OAuthError::InvalidGrant(refusal.description),
    }
}

fn status_error(status: tonic::Status) -> OAuthError {
    match status.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::ResourceExhausted => {
            OAuthError::TemporarilyUnavailable {
                what: "identity validation",
                cause: format!("{:?}: {}", status.code(), status.message()),
            }
        }
        code => OAuthError::ServerError(format!("identity-service answered {code:?}: {}", status.message())),
    }
}
