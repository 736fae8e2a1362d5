//! The gRPC client of token-service's `Delegations`: the delegations (RFC 8693 token
//! exchanges) made in a human's or their agents' names, for the account page, and
//! revoking one. Both calls are safe to repeat, so a call that fails for want of its
//! replica is retried once on another. Generated protobuf types stop here.

use proto::tokens::v1 as pb;
use proto::tokens::v1::delegations_client::DelegationsClient;
use shared::grpc::Replicas;

use super::token_service::DirectoryError;

const LIST: &str = "agentauth.tokens.v1.Delegations/ListDelegations";
const REVOKE: &str = "agentauth.tokens.v1.Delegations/RevokeDelegation";

/// One delegated token, as the account page shows it.
#[derive(Debug, Clone)]
pub struct DelegationView {
    pub jti: String,
    /// In whose name it acts: the human (`usr_…`) or one of their agents (`reg_…`).
    pub subject: String,
    pub grant_id: Option<String>,
    /// Who acts, newest first: `(sub, client_id)`.
    pub actors: Vec<(String, String)>,
    pub audiences: Vec<String>,
    pub scope: String,
    pub issued_at: i64,
    pub active: bool,
}

#[derive(Debug)]
pub struct DelegationRecords {
    replicas: std::sync::Arc<Replicas>,
}

fn unavailable(status: &tonic::Status) -> DirectoryError {
    DirectoryError::Unavailable(format!(
        "the delegation record answered {:?}: {}",
        status.code(),
        status.message()
    ))
}

impl DelegationRecords {
    pub fn new(replicas: std::sync::Arc<Replicas>) -> Self {
        Self { replicas }
    }

    /// The delegations made in `subjects`' names in the last day, newest first.
    pub async fn list(&self, subjects: &[String]) -> Result<Vec<DelegationView>, DirectoryError> {
        let response = shared::grpc::call_idempotent(&self.replicas, ("token-service", LIST), |channel| {
            let request = pb::ListDelegationsRequest {
                subjects: subjects.to_vec(),
            };
            async move {
                DelegationsClient::with_interceptor(channel, shared::telemetry::grpc::propagate)
                    .list_delegations(tonic::Request::new(request))
                    .await
            }
        })
        .await
        .map_err(|status| unavailable(&status))?;
        Ok(response
            .into_inner()
            .delegations
            .into_iter()
            .map(|d| DelegationView {
                jti: d.jti,
                subject: d.subject,
                grant_id: (!d.grant_id.is_empty()).then_some(d.grant_id),
                actors: d.actors.into_iter().map(|a| (a.sub, a.client_id)).collect(),
                audiences: d.audiences,
                scope: d.scope,
                issued_at: d.issued_at,
                active: d.active,
            })
            .collect())
    }

    /// Revokes the delegation `jti` when it was made in one of `subjects`' names.
    pub async fn revoke(&self, subjects: &[String], jti: &str) -> Result<bool, DirectoryError> {
        let response = shared::grpc::call_idempotent(&self.replicas, ("token-service", REVOKE), |channel| {
            let request = pb::RevokeDelegationRequest {
                subjects: subjects.to_vec(),
                jti: jti.to_owned(),
            };
            async move {
                DelegationsClient::with_interceptor(channel, shared::telemetry::grpc::propagate)
                    .revoke_delegation(tonic::Request::new(request))
                    .await
            }
        })
        .await
        .map_err(|status| unavailable(&status))?;
        Ok(response.into_inner().revoked)
    }
}
