//! `IdentityService` over gRPC. Generated protobuf types stop here.

use std::sync::Arc;

use proto::identity::v1 as pb;
use proto::identity::v1::identity_service_server::{IdentityService, IdentityServiceServer};
use tonic::{Request, Response, Status};

use crate::authorize::{Authorizations, Presented, ProviderGrant, ProviderGrantRequest, Redemption};
use crate::registration::record::RegistrationStatus;
use crate::validation::{Outcome, Validation};
use protocol::jose::assertion::ExchangeRefusal;
use protocol::scope::ScopeSet;

#[derive(Debug, Clone)]
pub struct IdentityGrpc {
    validation: Arc<Validation>,
    authorizations: Arc<Authorizations>,
}

impl IdentityGrpc {
    pub fn server(validation: Arc<Validation>, authorizations: Arc<Authorizations>) -> IdentityServiceServer<Self> {
        IdentityServiceServer::new(Self {
            validation,
            authorizations,
        })
    }
}

#[tonic::async_trait]
impl IdentityService for IdentityGrpc {
    async fn validate_assertion(
        &self,
        request: Request<pb::ValidateAssertionRequest>,
    ) -> Result<Response<pb::ValidateAssertionResponse>, Status> {
        let assertion = request.into_inner().assertion;
        let validated = self.validation.validate_assertion(&assertion).await;
        let label = match &validated {
            Ok(Outcome::Grantable(_)) => "granted",
            Ok(Outcome::Refused(refusal)) => refusal.label(),
            Err(_) => "error",
        };
        metrics::counter!(shared::telemetry::metrics::ASSERTION_VALIDATIONS, "outcome" => label).increment(1);
        Ok(Response::new(outcome_to_pb(validated?)))
    }

    async fn lookup_registration(
        &self,
        request: Request<pb::LookupRegistrationRequest>,
    ) -> Result<Response<pb::ValidateAssertionResponse>, Status> {
        let request = request.into_inner();
        let looked_up = self.validation.lookup(&request.subject, &request.client_id).await;
        let label = match &looked_up {
            Ok(Outcome::Grantable(_)) => "granted",
            Ok(Outcome::Refused(refusal)) => refusal.label(),
            Err(_) => "error",
        };
        metrics::counter!(shared::telemetry::metrics::ASSERTION_VALIDATIONS, "outcome" => label).increment(1);
        Ok(Response::new(outcome_to_pb(looked_up?)))
    }

    async fn redeem_authorization_code(
        &self,
        request: Request<pb::RedeemAuthorizationCodeRequest>,
    ) -> Result<Response<pb::RedeemAuthorizationCodeResponse>, Status> {
        self.redeem(request).await
    }

    async fn get_grant_status(
        &self,
        request: Request<pb::GetGrantStatusRequest>,
    ) -> Result<Response<pb::GetGrantStatusResponse>, Status> {
        self.grant_status(request).await
    }

    async fn authorize_id_jag(
        &self,
        request: Request<pb::AuthorizeIdJagRequest>,
    ) -> Result<Response<pb::AuthorizeIdJagResponse>, Status> {
        self.provider_grant(request.into_inner()).await
    }

    async fn get_registration_status(
        &self,
        request: Request<pb::GetRegistrationStatusRequest>,
    ) -> Result<Response<pb::GetRegistrationStatusResponse>, Status> {
        let subject = request.into_inner().subject;
        let Some(registration) = self.validation.registration(&subject).await? else {
            return Ok(Response::new(pb::GetRegistrationStatusResponse::default()));
        };
        let now = shared::time::unix_now();
        let delegable = registration.delegable(now);
        Ok(Response::new(pb::GetRegistrationStatusResponse {
            known: true,
            status: status_to_pb(registration.status(now)) as i32,
            revoked_at: registration.revoked_at.unwrap_or_default(),
            may_delegate: delegable.is_some(),
            delegable_scopes: delegable.map(|s| s.to_strings()).unwrap_or_default(),
        }))
    }
}

impl IdentityGrpc {
    async fn redeem(
        &self,
        request: Request<pb::RedeemAuthorizationCodeRequest>,
    ) -> Result<Response<pb::RedeemAuthorizationCodeResponse>, Status> {
        use pb::redeem_authorization_code_response::Outcome;
        let request = request.into_inner();
        let presented = Presented {
            code: &request.code,
            client_id: &request.client_id,
            redirect_uri: &request.redirect_uri,
            code_verifier: &request.code_verifier,
        };
        let redemption = self.authorizations.redeem(presented, shared::time::unix_now()).await?;
        let outcome = match redemption {
            Redemption::Granted(granted) => Outcome::Grant(pb::AuthorizationGrant {
                subject: granted.subject,
                client_id: granted.client_id,
                scopes: granted.scopes.to_strings(),
                resources: granted.resources,
                grant_id: granted.grant_id,
                auth_time: granted.auth_time,
            }),
            Redemption::Refused(why) => Outcome::Refused(pb::Refusal {
                reason: pb::RefusalReason::InvalidCode as i32,
                description: why.to_owned(),
            }),
        };
        Ok(Response::new(pb::RedeemAuthorizationCodeResponse {
            outcome: Some(outcome),
        }))
    }

    async fn provider_grant(
        &self,
        request: pb::AuthorizeIdJagRequest,
    ) -> Result<Response<pb::AuthorizeIdJagResponse>, Status> {
        let scopes = ScopeSet::from_tokens(&request.scopes)
            .map_err(|_| Status::invalid_argument("scopes must be scope tokens"))?;
        let asked = ProviderGrantRequest {
            issuer: request.issuer,
            subject: request.subject,
            email: Some(request.email).filter(|e| !e.is_empty()),
            email_verified: request.email_verified,
            client_id: request.client_id,
            client_name: request.client_name,
            scopes,
            resources: request.resources,
            create_human: request.create_human,
        };
        match self
            .authorizations
            .provider_grant(asked, shared::time::unix_now())
            .await?
        {
            ProviderGrant::Granted { human, grant_id } => Ok(Response::new(pb::AuthorizeIdJagResponse {
                subject: human.to_string(),
                grant_id: grant_id.to_string(),
            })),
            ProviderGrant::Refused(why) => Err(Status::failed_precondition(why)),
        }
    }

    async fn grant_status(
        &self,
        request: Request<pb::GetGrantStatusRequest>,
    ) -> Result<Response<pb::GetGrantStatusResponse>, Status> {
        let grant = self.authorizations.grant(&request.into_inner().grant_id).await?;
        Ok(Response::new(match grant {
            Some(grant) => pb::GetGrantStatusResponse {
                delegable_scopes: grant.delegable_scopes().to_strings(),
                active: grant.is_active(),
                subject: grant.subject.to_string(),
                client_id: grant.client_id,
                scopes: grant.scopes.to_strings(),
                resources: grant.resources,
                delegable: grant.delegable,
            },
            None => pb::GetGrantStatusResponse::default(),
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

fn outcome_to_pb(outcome: Outcome) -> pb::ValidateAssertionResponse {
    let outcome = match outcome {
        Outcome::Grantable(grant) => pb::validate_assertion_response::Outcome::Grantable(pb::Grantable {
            subject: grant.subject,
            client_id: grant.client_id,
            registration_type: grant.registration_type.as_str().to_owned(),
            status: status_to_pb(grant.status) as i32,
            grantable_scopes: grant.scopes.to_strings(),
            bound_jkt: grant.bound_jkt.unwrap_or_default(),
        }),
        Outcome::Refused(refusal) => pb::validate_assertion_response::Outcome::Refused(refusal_to_pb(refusal)),
    };
    pb::ValidateAssertionResponse { outcome: Some(outcome) }
}

/// The one mapping of an exchange refusal to the wire.
fn refusal_to_pb(refusal: ExchangeRefusal) -> pb::Refusal {
    use pb::RefusalReason as R;
    let reason = match &refusal {
        ExchangeRefusal::InvalidAssertion(_) => R::InvalidAssertion,
        ExchangeRefusal::AssertionExpired => R::AssertionExpired,
        ExchangeRefusal::ForeignAssertion => R::ForeignAssertion,
        ExchangeRefusal::UnknownRegistration => R::UnknownRegistration,
        ExchangeRefusal::RegistrationExpired => R::RegistrationExpired,
        ExchangeRefusal::RegistrationRevoked => R::RegistrationRevoked,
        ExchangeRefusal::UserAuthenticationRequired => R::UserAuthenticationRequired,
    };
    pb::Refusal {
        reason: reason as i32,
        description: refusal.to_string(),
    }
}
