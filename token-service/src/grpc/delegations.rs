//! `Delegations`: identity-service's account page lists the delegations made in a
//! human's or their agents' names, and revokes one. The store is down: UNAVAILABLE.

use std::sync::Arc;

use proto::tokens::v1 as pb;
use proto::tokens::v1::delegations_server::{Delegations, DelegationsServer};
use tonic::{Request, Response, Status};

use crate::access_token::{Act, Audience};
use crate::delegations::{self, Listed};
use crate::error::OAuthError;

#[derive(Debug, Clone)]
pub struct DelegationsGrpc {
    pub delegations: Arc<delegations::Delegations>,
}

impl DelegationsGrpc {
    pub fn server(self) -> DelegationsServer<Self> {
        DelegationsServer::new(self)
    }
}

fn status(error: OAuthError) -> Status {
    match error {
        OAuthError::TemporarilyUnavailable { what, cause } => Status::unavailable(format!("{what}: {cause}")),
        other => Status::internal(other.to_string()),
    }
}

fn delegation(Listed { claims, active }: Listed) -> pb::Delegation {
    pb::Delegation {
        actors: claims
            .act
            .iter()
            .flat_map(Act::chain)
            .map(|actor| pb::Actor {
                sub: actor.sub.clone(),
                client_id: actor.client_id.clone().unwrap_or_default(),
            })
            .collect(),
        audiences: match claims.aud {
            Audience::One(one) => vec![one],
            Audience::Many(many) => many,
        },
        jti: claims.jti,
        subject: claims.sub,
        grant_id: claims.grant_id.unwrap_or_default(),
        client_id: claims.client_id,
        scope: claims.scope,
        issued_at: claims.iat,
        expires_at: claims.exp,
        active,
    }
}

#[tonic::async_trait]
impl Delegations for DelegationsGrpc {
    async fn list_delegations(
        &self,
        request: Request<pb::ListDelegationsRequest>,
    ) -> Result<Response<pb::ListDelegationsResponse>, Status> {
        let subjects = request.into_inner().subjects;
        let listed = self.delegations.list(&subjects).await.map_err(status)?;
        Ok(Response::new(pb::ListDelegationsResponse {
            delegations: listed.into_iter().map(delegation).collect(),
        }))
    }

    async fn revoke_delegation(
        &self,
        request: Request<pb::RevokeDelegationRequest>,
    ) -> Result<Response<pb::RevokeDelegationResponse>, Status> {
        let request = request.into_inner();
        let revoked = self
            .delegations
            .revoke(&request.subjects, &request.jti)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::RevokeDelegationResponse { revoked }))
    }
}
