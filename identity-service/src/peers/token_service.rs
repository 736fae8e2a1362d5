//! The gRPC client of token-service's `ClientDirectory`: who a client is. A read, so a
//! call that fails for want of its replica is retried once on another. Generated
//! protobuf types stop here.

use proto::clients::v1 as pb;
use proto::clients::v1::client_directory_client::ClientDirectoryClient;
use protocol::scope::ScopeSet;
use shared::grpc::Replicas;

/// Why the directory gave no client.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// token-service refused: the client is unknown, disabled or cannot authorize.
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Unavailable(String),
    /// token-service answered something it never should.
    #[error("{0}")]
    Internal(String),
}

const RESOLVE: &str = "agentauth.clients.v1.ClientDirectory/ResolveClient";

/// What the authorization endpoint knows of a client.
#[derive(Debug, Clone)]
pub struct AuthorizingClient {
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub scopes: ScopeSet,
    pub logo_uri: Option<String>,
    pub public: bool,
}

#[derive(Debug)]
pub struct ClientDirectory {
    replicas: std::sync::Arc<Replicas>,
}

impl ClientDirectory {
    pub fn new(replicas: std::sync::Arc<Replicas>) -> Self {
        Self { replicas }
    }

    /// The client, or why the human cannot authorize it (unknown, disabled, unusable).
    pub async fn resolve(&self, client_id: &str) -> Result<AuthorizingClient, DirectoryError> {
        let response = shared::grpc::call_idempotent(&self.replicas, ("token-service", RESOLVE), |channel| {
            let request = pb::ResolveClientRequest {
                client_id: client_id.to_owned(),
            };
            async move {
                ClientDirectoryClient::with_interceptor(channel, shared::telemetry::grpc::propagate)
                    .resolve_client(tonic::Request::new(request))
                    .await
            }
        })
        .await
        .map_err(|status| {
            DirectoryError::Unavailable(format!(
                "client directory answered {:?}: {}",
                status.code(),
                status.message()
            ))
        })?;
        match response.into_inner().outcome {
            Some(pb::resolve_client_response::Outcome::Client(client)) => Ok(AuthorizingClient {
                scopes: ScopeSet::from_tokens(&client.scopes)
                    .map_err(|e| DirectoryError::Internal(format!("token-service sent a bad scope: {e}")))?,
                logo_uri: (!client.logo_uri.is_empty()).then_some(client.logo_uri),
                client_id: client.client_id,
                name: client.name,
                redirect_uris: client.redirect_uris,
                public: client.public,
            }),
            Some(pb::resolve_client_response::Outcome::Refused(refusal)) => {
                Err(DirectoryError::Refused(refusal.description))
            }
            None => Err(DirectoryError::Internal("token-service sent no outcome".into())),
        }
    }
}
