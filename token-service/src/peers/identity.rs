//! The gRPC client of identity-service: one bounded `LookupRegistration` call per
//! exchange, spread over every identity replica. A read that fails for want of its
//! replica (killed, restarting, unreachable) is retried once on another; redeeming an
//! authorization code is not a read and is never retried. Generated protobuf types stop
//! here.

use std::future::Future;

use proto::identity::v1 as pb;
use proto::identity::v1::identity_service_client::IdentityServiceClient;
use protocol::scope::ScopeSet;
use shared::grpc::Replicas;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::error::OAuthError;
use protocol::jose::assertion::{AssertionClaims, ExchangeRefusal};

/// The generated client, carrying the caller's trace context in every request.
type Client = IdentityServiceClient<InterceptedService<Channel, Propagate>>;
type Propagate = fn(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status>;

const VALIDATE: &str = "agentauth.identity.v1.IdentityService/ValidateAssertion";
const LOOKUP: &str = "agentauth.identity.v1.IdentityService/LookupRegistration";
pub(super) const STATUS: &str = "agentauth.identity.v1.IdentityService/GetRegistrationStatus";
const REDEEM: &str = "agentauth.identity.v1.IdentityService/RedeemAuthorizationCode";
pub(super) const GRANT_STATUS: &str = "agentauth.identity.v1.IdentityService/GetGrantStatus";
const ID_JAG: &str = "agentauth.identity.v1.IdentityService/AuthorizeIdJag";
const PEER: &str = "identity-service";

/// A registration's current state, as identity-service reports it for a valid assertion.
#[derive(Debug)]
pub struct RegistrationState {
    pub subject: String,
    pub client_id: String,
    pub scopes: ScopeSet,
    /// The DPoP key thumbprint the assertion is bound to, if it is.
    pub bound_jkt: Option<String>,
}

/// What a token request presents to redeem an authorization code.
#[derive(Debug)]
pub struct CodeRedemption {
    pub code: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_verifier: String,
}

/// What a redeemed authorization code carries: the human's consent for this request.
#[derive(Debug)]
pub struct AuthorizationGrant {
    pub subject: String,
    pub client_id: String,
    pub scopes: ScopeSet,
    pub resources: Vec<String>,
    pub grant_id: String,
}

/// What a verified ID-JAG asks of identity-service: the human and the grant.
#[derive(Debug)]
pub struct ProviderGrantAsk {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub client_id: String,
    pub client_name: String,
    pub scopes: ScopeSet,
    pub resources: Vec<String>,
    pub create_human: bool,
}

/// The human an ID-JAG names, and the grant its tokens rest on.
#[derive(Debug)]
pub struct ProviderGrant {
    pub subject: String,
    pub grant_id: String,
}

#[derive(Debug)]
pub struct IdentityClient {
    replicas: Replicas,
}

impl IdentityClient {
    pub fn new(replicas: Replicas) -> Self {
        Self { replicas }
    }

    /// What the registration behind an assertion we verified may be granted now: one
    /// call. An identity-service of the version before (which has no
    /// `LookupRegistration`, during a rolling upgrade) is asked to validate instead.
    pub async fn lookup(&self, claims: &AssertionClaims, assertion: &str) -> Result<RegistrationState, OAuthError> {
        let looked_up = self
            .call(LOOKUP, |mut client| async move {
                let request = pb::LookupRegistrationRequest {
                    subject: claims.sub.clone(),
                    client_id: claims.client_id.clone(),
                };
                client.lookup_registration(request).await
            })
            .await;
        match looked_up {
            Err(status) if status.code() == Code::Unimplemented => self.validate(assertion).await,
            other => registration_state(other.map_err(status_error)?.into_inner()),
        }
    }

    pub async fn validate(&self, assertion: &str) -> Result<RegistrationState, OAuthError> {
        let response = self
            .call(VALIDATE, |mut client| async move {
                let request = pb::ValidateAssertionRequest {
                    assertion: assertion.to_owned(),
                };
                client.validate_assertion(request).await
            })
            .await
            .map_err(status_error)?;
        registration_state(response.into_inner())
    }

    /// Redeems an authorization code: one call, never retried (a second redemption of
    /// the same code is a replay, and revokes its grant).
    pub async fn redeem(&self, redemption: CodeRedemption) -> Result<AuthorizationGrant, OAuthError> {
        let redemption = pb::RedeemAuthorizationCodeRequest {
            code: redemption.code,
            client_id: redemption.client_id,
            redirect_uri: redemption.redirect_uri,
            code_verifier: redemption.code_verifier,
        };
        let response = shared::grpc::call_once(&self.replicas, (PEER, REDEEM), |channel| async move {
            client(channel).redeem_authorization_code(redemption).await
        })
        .await
        .map_err(status_error)?;
        match response.into_inner().outcome {
            Some(pb::redeem_authorization_code_response::Outcome::Grant(grant)) => Ok(AuthorizationGrant {
                scopes: scopes(&grant.scopes)?,
                subject: grant.subject,
                client_id: grant.client_id,
                resources: grant.resources,
                grant_id: grant.grant_id,
            }),
            // A code that is unknown, spent or bound to something else (RFC 6749 §5.2).
            Some(pb::redeem_authorization_code_response::Outcome::Refused(refusal)) => {
                Err(OAuthError::InvalidGrant(refusal.description))
            }
            None => Err(OAuthError::ServerError("identity-service sent no outcome".into())),
        }
    }

    /// The human and grant of a verified ID-JAG: one call, never retried (it may record
    /// a grant). identity-service's refusal (not a person of a sign-in provider here, not
    /// yet a human) is the grant's refusal.
    pub async fn provider_grant(&self, ask: ProviderGrantAsk) -> Result<ProviderGrant, OAuthError> {
        let request = pb::AuthorizeIdJagRequest {
            issuer: ask.issuer,
            subject: ask.subject,
            email: ask.email.unwrap_or_default(),
            email_verified: ask.email_verified,
            client_id: ask.client_id,
            scopes: ask.scopes.to_strings(),
            resources: ask.resources,
            create_human: ask.create_human,
            client_name: ask.client_name,
        };
        let response = shared::grpc::call_once(&self.replicas, (PEER, ID_JAG), |channel| async move {
            client(channel).authorize_id_jag(request).await
        })
        .await
        .map_err(|status| match status.code() {
            Code::FailedPrecondition => OAuthError::InvalidGrant(status.message().to_owned()),
            _ => status_error(status),
        })?
        .into_inner();
        Ok(ProviderGrant {
            subject: response.subject,
            grant_id: response.grant_id,
        })
    }

    pub(super) async fn call<T, F, Fut>(&self, method: &'static str, call: F) -> Result<T, tonic::Status>
    where
        F: Fn(Client) -> Fut,
        Fut: Future<Output = Result<T, tonic::Status>>,
    {
        shared::grpc::call_idempotent(&self.replicas, (PEER, method), |channel| call(client(channel))).await
    }
}

fn client(channel: Channel) -> Client {
    IdentityServiceClient::with_interceptor(channel, shared::telemetry::grpc::propagate as Propagate)
}

fn registration_state(response: pb::ValidateAssertionResponse) -> Result<RegistrationState, OAuthError> {
    match response.outcome {
        Some(pb::validate_assertion_response::Outcome::Grantable(grant)) => Ok(RegistrationState {
            subject: grant.subject,
            client_id: grant.client_id,
            scopes: scopes(&grant.grantable_scopes)?,
            bound_jkt: (!grant.bound_jkt.is_empty()).then_some(grant.bound_jkt),
        }),
        Some(pb::validate_assertion_response::Outcome::Refused(refusal)) => Err(exchange_refusal(refusal).into()),
        None => Err(OAuthError::ServerError("identity-service sent no outcome".into())),
    }
}

pub(super) fn scopes(tokens: &[String]) -> Result<ScopeSet, OAuthError> {
    ScopeSet::from_tokens(tokens)
        .map_err(|e| OAuthError::ServerError(format!("identity-service sent a bad scope: {e}")))
}

/// An exchange refusal, from the wire (the one mapping back of identity-service's).
fn exchange_refusal(refusal: pb::Refusal) -> ExchangeRefusal {
    use pb::RefusalReason as R;
    match R::try_from(refusal.reason) {
        Ok(R::AssertionExpired) => ExchangeRefusal::AssertionExpired,
        Ok(R::ForeignAssertion) => ExchangeRefusal::ForeignAssertion,
        Ok(R::UnknownRegistration) => ExchangeRefusal::UnknownRegistration,
        Ok(R::RegistrationExpired) => ExchangeRefusal::RegistrationExpired,
        Ok(R::RegistrationRevoked) => ExchangeRefusal::RegistrationRevoked,
        Ok(R::UserAuthenticationRequired) => ExchangeRefusal::UserAuthenticationRequired,
        // An invalid assertion, and any reason a newer identity-service may add: the
        // words it sent.
        _ => ExchangeRefusal::InvalidAssertion(refusal.description.into()),
    }
}

pub(super) fn status_error(status: tonic::Status) -> OAuthError {
    let code = status.code();
    if shared::grpc::another_replica_may_answer(&status)
        || matches!(code, Code::DeadlineExceeded | Code::ResourceExhausted)
    {
        return OAuthError::TemporarilyUnavailable {
            what: "identity validation",
            cause: format!("{code:?}: {}", status.message()),
        };
    }
    OAuthError::ServerError(format!("identity-service answered {code:?}: {}", status.message()))
}
