//! The gRPC client of identity-service: one bounded `ValidateAssertion` call per
//! exchange, spread over every identity replica. Both calls here are reads, so a call
//! that fails for want of its replica (killed, restarting, unreachable) is retried once
//! on another. Generated protobuf types stop here.

use std::future::Future;

use proto::identity::v1 as pb;
use proto::identity::v1::identity_service_client::IdentityServiceClient;
use shared::grpc::Replicas;
use shared::scope::ScopeSet;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// The generated client, carrying the caller's trace context in every request.
type Client = IdentityServiceClient<InterceptedService<Channel, Propagate>>;
type Propagate = fn(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status>;

const VALIDATE: &str = "agentauth.identity.v1.IdentityService/ValidateAssertion";
const STATUS: &str = "agentauth.identity.v1.IdentityService/GetRegistrationStatus";

use crate::error::OAuthError;

/// What identity-service allows for a valid assertion.
#[derive(Debug)]
pub struct Grantable {
    pub subject: String,
    pub client_id: String,
    pub scopes: ScopeSet,
    /// The DPoP key thumbprint the assertion is bound to, if it is.
    pub bound_jkt: Option<String>,
}

#[derive(Debug)]
pub struct IdentityClient {
    replicas: Replicas,
}

impl IdentityClient {
    pub fn new(replicas: Replicas) -> Self {
        Self { replicas }
    }

    pub async fn validate(&self, assertion: &str) -> Result<Grantable, OAuthError> {
        let response = self
            .call(VALIDATE, |mut client| async move {
                let request = pb::ValidateAssertionRequest {
                    assertion: assertion.to_owned(),
                };
                client.validate_assertion(request).await
            })
            .await
            .map_err(status_error)?;
        match response.into_inner().outcome {
            Some(pb::validate_assertion_response::Outcome::Grantable(grant)) => Ok(Grantable {
                subject: grant.subject,
                client_id: grant.client_id,
                scopes: ScopeSet::from_tokens(&grant.grantable_scopes)
                    .map_err(|e| OAuthError::ServerError(format!("identity-service sent a bad scope: {e}")))?,
                bound_jkt: (!grant.bound_jkt.is_empty()).then_some(grant.bound_jkt),
            }),
            Some(pb::validate_assertion_response::Outcome::Refused(refusal)) => Err(refusal_error(refusal)),
            None => Err(OAuthError::ServerError("identity-service sent no outcome".into())),
        }
    }

    /// When the registration behind `subject` was revoked, if it was.
    pub async fn revoked_at(&self, subject: &str) -> Result<Option<i64>, OAuthError> {
        let status = self
            .call(STATUS, |mut client| async move {
                let request = pb::GetRegistrationStatusRequest {
                    subject: subject.to_owned(),
                };
                client.get_registration_status(request).await
            })
            .await
            .map_err(status_error)?
            .into_inner();
        Ok((status.revoked_at > 0).then_some(status.revoked_at))
    }

    /// Runs an idempotent call on one replica, and once more on another if the first
    /// could not answer.
    async fn call<T, F, Fut>(&self, method: &'static str, call: F) -> Result<T, tonic::Status>
    where
        F: Fn(Client) -> Fut,
        Fut: Future<Output = Result<T, tonic::Status>>,
    {
        let client =
            |channel| IdentityServiceClient::with_interceptor(channel, shared::telemetry::grpc::propagate as Propagate);
        let attempt = |channel| shared::telemetry::grpc::client_call(method, call(client(channel)));
        let none = || tonic::Status::unavailable("no identity-service replica resolved yet");
        let (first, channel) = self.replicas.pick(None).ok_or_else(none)?;
        let status = match attempt(channel).await {
            Err(status) if another_replica_may_answer(&status) => status,
            answered => return answered,
        };
        self.replicas.set_aside(first);
        let Some((second, channel)) = self.replicas.pick(Some(first)).filter(|(addr, _)| *addr != first) else {
            return Err(status);
        };
        tracing::debug!(%first, %second, code = ?status.code(), "identity replica failed, retrying on another");
        attempt(channel).await
    }
}

/// The replica, not the request, failed: it is gone, restarting or cut off. A timeout is
/// not retried (it would double the wait), nor is any answer about the request itself.
fn another_replica_may_answer(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::Unknown | Code::Cancelled | Code::Aborted
    ) || (status.code() == Code::Internal && status.message().contains("h2 protocol error"))
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
    let code = status.code();
    if another_replica_may_answer(&status) || matches!(code, Code::DeadlineExceeded | Code::ResourceExhausted) {
        return OAuthError::TemporarilyUnavailable {
            what: "identity validation",
            cause: format!("{code:?}: {}", status.message()),
        };
    }
    OAuthError::ServerError(format!("identity-service answered {code:?}: {}", status.message()))
}
