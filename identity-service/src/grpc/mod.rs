//! `IdentityService` over gRPC. Generated protobuf types stop here.

use std::sync::Arc;

use proto::identity::v1 as pb;
use proto::identity::v1::identity_service_server::{IdentityService, IdentityServiceServer};
use tonic::{Request, Response, Status};

use crate::error::IdentityError;
use crate::registration::{GrantRefusal, RegistrationId, RegistrationStatus};
use crate::state::AppState;
use crate::validation::{Outcome, Refusal, validate_assertion};

#[derive(Debug, Clone)]
pub struct IdentityGrpc {
    state: Arc<AppState>,
}

impl IdentityGrpc {
    pub fn server(state: Arc<AppState>) -> IdentityServiceServer<Self> {
        IdentityServiceServer::new(Self { state })
    }
}

#[tonic::async_trait]
impl IdentityService for IdentityGrpc {
    async fn validate_assertion(
        &self,
        request: Request<pb::ValidateAssertionRequest>,
    ) -> Result<Response<pb::ValidateAssertionResponse>, Status> {
        let assertion = request.into_inner().assertion;
        let validated = validate_assertion(&self.state, &assertion).await;
        let label = match &validated {
            Ok(Outcome::Grantable(_)) => "granted",
            Ok(Outcome::Refused(refusal)) => refusal.label(),
            Err(_) => "error",
        };
        metrics::counter!(shared::telemetry::metrics::ASSERTION_VALIDATIONS, "outcome" => label).increment(1);
        let outcome = match validated? {
            Outcome::Grantable(grant) => pb::validate_assertion_response::Outcome::Grantable(pb::Grantable {
                subject: grant.claims.sub,
                client_id: grant.claims.client_id,
                registration_type: grant.registration_type.as_str().to_owned(),
                status: status_to_pb(grant.status) as i32,
                grantable_scopes: grant.scopes.to_strings(),
                bound_jkt: grant.claims.cnf.map(|cnf| cnf.jkt).unwrap_or_default(),
            }),
            Outcome::Refused(refusal) => pb::validate_assertion_response::Outcome::Refused(refusal_to_pb(refusal)),
        };
        Ok(Response::new(pb::ValidateAssertionResponse { outcome: Some(outcome) }))
    }

    async fn get_registration_status(
        &self,
        request: Request<pb::GetRegistrationStatusRequest>,
    ) -> Result<Response<pb::GetRegistrationStatusResponse>, Status> {
        let subject = request.into_inner().subject;
        let unknown = pb::GetRegistrationStatusResponse::default();
        let Ok(id) = RegistrationId::parse(&subject) else {
            return Ok(Response::new(unknown));
        };
        let Some(registration) = self.state.store.get(&id).await.map_err(IdentityError::from)? else {
            return Ok(Response::new(unknown));
        };
        Ok(Response::new(pb::GetRegistrationStatusResponse {
            known: true,
            status: status_to_pb(registration.status(shared::jose::unix_now())) as i32,
            revoked_at: registration.revoked_at.unwrap_or_default(),
        }))
    }
}

fn status_to_pb(status: RegistrationStatus) -> pb::RegistrationStatus {
    match status {
        RegistrationStatus::Unclaimed => pb::RegistrationStatus::Unclaimed,
        RegistrationStatus::PendingClaim => pb::RegistrationStatus::PendingClaim,
        RegistrationStatus::Claimed => pb::RegistrationStatus::Claimed,
        RegistrationStatus::Expired => pb::RegistrationStatus::Expired,
        RegistrationStatus::Revoked => pb::RegistrationStatus::Revoked,
    }
}

fn refusal_to_pb(refusal: Refusal) -> pb::Refusal {
    use pb::RefusalReason as R;
    let (reason, description) = match refusal {
        Refusal::InvalidAssertion(why) => (R::InvalidAssertion, why),
        Refusal::AssertionExpired => (R::AssertionExpired, "assertion has expired"),
        Refusal::ForeignAssertion => (R::ForeignAssertion, "assertion was not issued by or for this server"),
        Refusal::UnknownRegistration => (R::UnknownRegistration, "registration does not exist"),
        Refusal::Registration(GrantRefusal::Expired) => (R::RegistrationExpired, "registration has expired"),
        Refusal::Registration(GrantRefusal::Revoked) => (R::RegistrationRevoked, "registration has been revoked"),
        Refusal::Registration(GrantRefusal::UserAuthenticationRequired) => (
            R::UserAuthenticationRequired,
            "a human must complete the claim before tokens are issued",
        ),
    };
    pb::Refusal {
        reason: reason as i32,
        description: description.to_owned(),
    }
}
