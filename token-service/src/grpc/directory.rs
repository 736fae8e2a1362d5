//! `ClientDirectory`: identity-service's authorization endpoint asks who a client is:
//! one store read for a registered client, the (cached) metadata document for a client
//! whose id is its document's URL. A client that may not use the authorization code flow (unknown,
//! disabled, no redirect URI) is a refusal the human is shown, not an RPC error.

use std::sync::Arc;

use proto::clients::v1 as pb;
use proto::clients::v1::client_directory_server::{ClientDirectory, ClientDirectoryServer};
use tonic::{Request, Response, Status};

use crate::clients::{AuthMethod, Client, ClientId, ClientStore};
use crate::error::AdminError;
use crate::registration::metadata_document::MetadataDocuments;

#[derive(Debug, Clone)]
pub struct ClientDirectoryGrpc {
    pub clients: Arc<dyn ClientStore>,
    pub documents: Arc<MetadataDocuments>,
}

impl ClientDirectoryGrpc {
    pub fn server(self) -> ClientDirectoryServer<Self> {
        ClientDirectoryServer::new(self)
    }
}

/// The client, if it may start an authorization; else why not.
pub fn authorizing(client: Option<Client>) -> Result<Client, &'static str> {
    match client {
        None => Err("unknown client"),
        Some(client) if client.disabled => Err("this client is disabled"),
        Some(client) if client.redirect_uris.is_empty() => {
            Err("this client has no redirect URI: it cannot use the authorization code flow")
        }
        Some(client) => Ok(client),
    }
}

fn found(client: pb::AuthorizingClient) -> Response<pb::ResolveClientResponse> {
    Response::new(pb::ResolveClientResponse {
        outcome: Some(pb::resolve_client_response::Outcome::Client(client)),
    })
}

fn refused(description: &str) -> Response<pb::ResolveClientResponse> {
    Response::new(pb::ResolveClientResponse {
        outcome: Some(pb::resolve_client_response::Outcome::Refused(pb::ClientRefusal {
            description: description.to_owned(),
        })),
    })
}

#[tonic::async_trait]
impl ClientDirectory for ClientDirectoryGrpc {
    async fn resolve_client(
        &self,
        request: Request<pb::ResolveClientRequest>,
    ) -> Result<Response<pb::ResolveClientResponse>, Status> {
        let client_id = request.into_inner().client_id;
        if MetadataDocuments::is_document_id(&client_id) {
            return Ok(match self.documents.resolve(&client_id).await {
                Ok(client) => found(pb::AuthorizingClient {
                    client_id: client.client_id.clone(),
                    name: client.name.clone(),
                    redirect_uris: client.redirect_uris.clone(),
                    scopes: client.scopes.to_strings(),
                    logo_uri: client.logo_uri.clone().unwrap_or_default(),
                    public: client.jwks_uri.is_none(),
                }),
                Err(refusal) => {
                    tracing::info!(%client_id, %refusal, "metadata document client refused");
                    refused(&refusal.to_string())
                }
            });
        }
        let Ok(id) = ClientId::parse(&client_id) else {
            return Ok(refused("unknown client"));
        };
        let client = self.clients.get(&id).await.map_err(AdminError::from)?;
        let client = match authorizing(client) {
            Ok(client) => client,
            Err(reason) => return Ok(refused(reason)),
        };
        Ok(found(pb::AuthorizingClient {
            public: client.auth_method == AuthMethod::None,
            client_id: client.client_id.to_string(),
            name: client.name,
            redirect_uris: client.redirect_uris,
            scopes: client.allowed_scopes.to_strings(),
            logo_uri: client.logo_uri.unwrap_or_default(),
        }))
    }
}
