//! `ClientAdmin`: the operator API on the internal port (`agentctl clients create`).
//! Generated protobuf types stop here.

use std::sync::Arc;

use proto::clients::v1 as pb;
use proto::clients::v1::client_admin_server::{ClientAdmin, ClientAdminServer};
use shared::scope::ScopeSet;
use tonic::{Request, Response, Status};

use crate::clients::new_client;
use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct ClientAdminGrpc {
    state: Arc<AppState>,
}

impl ClientAdminGrpc {
    pub fn server(state: Arc<AppState>) -> ClientAdminServer<Self> {
        ClientAdminServer::new(Self { state })
    }
}

#[tonic::async_trait]
impl ClientAdmin for ClientAdminGrpc {
    async fn create_client(
        &self,
        request: Request<pb::CreateClientRequest>,
    ) -> Result<Response<pb::CreateClientResponse>, Status> {
        let request = request.into_inner();
        let scopes = ScopeSet::from_tokens(&request.scopes).map_err(|e| Status::invalid_argument(e.to_string()))?;
        if scopes.is_empty() {
            return Err(Status::invalid_argument("a client needs at least one scope"));
        }
        let created = new_client(&self.state.hasher, &request.name, scopes, shared::jose::unix_now());
        self.state.clients.create(&created.client).await.map_err(|error| {
            tracing::error!(%error, "cannot store new client");
            Status::unavailable("cannot store the client, retry")
        })?;
        tracing::info!(client_id = %created.client.client_id, "machine client created");
        let client_id = created.client.client_id.as_str();
        shared::audit::record("client_created", shared::audit::Actor::Operator, client_id, "success");
        Ok(Response::new(pb::CreateClientResponse {
            client_id: created.client.client_id.to_string(),
            client_secret: created.secret,
            scopes: created.client.allowed_scopes.to_strings(),
        }))
    }
}
