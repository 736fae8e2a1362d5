//! `ClientAdmin`: the operator API on the internal port (`agentctl clients …`). Each
//! change loads the client, applies one [`lifecycle`](crate::clients::lifecycle) step,
//! stores it and writes one audit event. [`directory`] serves identity-service's
//! `ClientDirectory`, [`delegations`] its account page's `Delegations`. Generated
//! protobuf types stop here.

pub mod delegations;
pub mod directory;
mod federation;

use std::sync::Arc;

use proto::clients::v1 as pb;
use proto::clients::v1::client_admin_server::{ClientAdmin, ClientAdminServer};
use protocol::scope::ScopeSet;
use protocol::secrets::SecretHasher;
use shared::audit::Actor;
use shared::keys::remote::Destinations;
use tonic::{Request, Response, Status};

use crate::client_auth::workload::WorkloadIssuers;
use crate::clients::lifecycle::{self, Changes};
use crate::clients::{CertificateBinding, Client, ClientId, ClientKeys, ClientStore, new_client};
use crate::error::AdminError;

/// The operator API, with what it changes clients with.
#[derive(Debug, Clone)]
pub struct ClientAdminGrpc {
    pub clients: Arc<dyn ClientStore>,
    pub hasher: SecretHasher,
    /// Where a registered `jwks_uri` may point.
    pub destinations: Destinations,
    /// The issuers a client may be federated with.
    pub workloads: Arc<WorkloadIssuers>,
}

impl ClientAdminGrpc {
    pub fn server(self) -> ClientAdminServer<Self> {
        ClientAdminServer::new(self)
    }

    async fn load(&self, client_id: &str) -> Result<Client, AdminError> {
        let id = ClientId::parse(client_id).map_err(|_| AdminError::invalid("not a client id (cli_…)"))?;
        self.clients
            .get(&id)
            .await
            .map_err(AdminError::from)?
            .ok_or_else(|| AdminError::not_found(format!("no client {client_id}")))
    }

    /// Stores a changed client and audits the change.
    async fn save(&self, client: Client, change: &str) -> Result<Response<pb::ClientInfo>, AdminError> {
        if !self.clients.update(&client).await.map_err(AdminError::from)? {
            return Err(AdminError::not_found(format!("no client {}", client.client_id)));
        }
        tracing::info!(client_id = %client.client_id, change, "machine client changed");
        shared::audit::record("client_changed", Actor::Operator, client.client_id.as_str(), change);
        Ok(Response::new(info(&client)))
    }

    async fn change(
        &self,
        client_id: &str,
        change: &str,
        apply: impl FnOnce(&mut Client) -> Result<(), AdminError>,
    ) -> Result<Response<pb::ClientInfo>, Status> {
        let mut client = self.load(client_id).await?;
        let before = client.workloads.clone();
        apply(&mut client)?;
        self.index_gained(&before, &client).await?;
        let saved = self.save(client.clone(), change).await?;
        self.index_lost(&before, &client).await?;
        Ok(saved)
    }

    fn destinations(&self) -> Destinations {
        self.destinations
    }
}

fn scopes(tokens: &[String]) -> Result<ScopeSet, AdminError> {
    let scopes = ScopeSet::from_tokens(tokens).map_err(|e| AdminError::invalid(e.to_string()))?;
    if scopes.is_empty() {
        return Err(AdminError::invalid("a client needs at least one scope"));
    }
    Ok(scopes)
}

/// What an operator sees of a client: never a secret or its hash.
fn info(client: &Client) -> pb::ClientInfo {
    pb::ClientInfo {
        client_id: client.client_id.to_string(),
        name: client.name.clone(),
        scopes: client.allowed_scopes.to_strings(),
        auth_method: client.auth_method.as_str().to_owned(),
        enabled: !client.disabled,
        created_at: client.created_at,
        secrets: client
            .secrets
            .iter()
            .map(|s| pb::SecretInfo {
                secret_id: s.id.clone(),
                created_at: s.created_at,
            })
            .collect(),
        keys: match &client.keys {
            Some(ClientKeys::Jwks(json)) => {
                let count = serde_json::from_str::<serde_json::Value>(json)
                    .ok()
                    .and_then(|v| v.get("keys").and_then(|k| k.as_array()).map(Vec::len))
                    .unwrap_or(0);
                format!("jwks ({count} keys)")
            }
            Some(ClientKeys::JwksUri(uri)) => uri.clone(),
            None => String::new(),
        },
        certificate: client
            .certificate
            .as_ref()
            .map(CertificateBinding::describe)
            .unwrap_or_default(),
        requires_dpop: client.requires_dpop,
        introspect: client.introspect,
        workloads: client.workloads.iter().map(federation::info).collect(),
        may_act: client.may_act.clone(),
    }
}

#[tonic::async_trait]
impl ClientAdmin for ClientAdminGrpc {
    async fn create_client(
        &self,
        request: Request<pb::CreateClientRequest>,
    ) -> Result<Response<pb::CreateClientResponse>, Status> {
        let request = request.into_inner();
        let scopes = scopes(&request.scopes)?;
        let mut created = new_client(&self.hasher, &request.name, scopes, shared::time::unix_now());
        created.client.requires_dpop = request.requires_dpop;
        created.client.introspect = request.introspect;
        created.client.may_act = lifecycle::actors(&request.may_act)?;
        self.clients.create(&created.client).await.map_err(AdminError::from)?;
        tracing::info!(client_id = %created.client.client_id, "machine client created");
        let client_id = created.client.client_id.as_str();
        shared::audit::record("client_created", Actor::Operator, client_id, "success");
        Ok(Response::new(pb::CreateClientResponse {
            client_id: created.client.client_id.to_string(),
            client_secret: created.secret.value,
            scopes: created.client.allowed_scopes.to_strings(),
            secret_id: created.secret.secret.id,
        }))
    }

    async fn list_clients(
        &self,
        _request: Request<pb::ListClientsRequest>,
    ) -> Result<Response<pb::ListClientsResponse>, Status> {
        let clients = self.clients.list().await.map_err(AdminError::from)?;
        Ok(Response::new(pb::ListClientsResponse {
            clients: clients.iter().map(info).collect(),
        }))
    }

    async fn get_client(&self, request: Request<pb::ClientRef>) -> Result<Response<pb::ClientInfo>, Status> {
        Ok(Response::new(info(&self.load(&request.into_inner().client_id).await?)))
    }

    async fn update_client(
        &self,
        request: Request<pb::UpdateClientRequest>,
    ) -> Result<Response<pb::ClientInfo>, Status> {
        let request = request.into_inner();
        let changes = Changes {
            name: request.name,
            scopes: if request.scopes.is_empty() {
                None
            } else {
                Some(scopes(&request.scopes)?)
            },
            requires_dpop: request.requires_dpop,
            introspect: request.introspect,
            may_act: request.may_act.map(|m| lifecycle::actors(&m.actors)).transpose()?,
        };
        self.change(&request.client_id, "updated", |client| {
            lifecycle::update(client, changes);
            Ok(())
        })
        .await
    }

    async fn set_client_enabled(
        &self,
        request: Request<pb::SetClientEnabledRequest>,
    ) -> Result<Response<pb::ClientInfo>, Status> {
        let request = request.into_inner();
        let change = if request.enabled { "enabled" } else { "disabled" };
        self.change(&request.client_id, change, |client| {
            client.disabled = !request.enabled;
            Ok(())
        })
        .await
    }

    async fn delete_client(
        &self,
        request: Request<pb::ClientRef>,
    ) -> Result<Response<pb::DeleteClientResponse>, Status> {
        let client_id = request.into_inner().client_id;
        let id = ClientId::parse(&client_id).map_err(|_| AdminError::invalid("not a client id (cli_…)"))?;
        let workloads = match self.clients.get(&id).await.map_err(AdminError::from)? {
            Some(client) => client.workloads,
            None => Vec::new(),
        };
        if !self.clients.delete(&id).await.map_err(AdminError::from)? {
            return Err(AdminError::not_found(format!("no client {client_id}")).into());
        }
        for binding in &workloads {
            self.clients
                .unbind_workload(binding, &id)
                .await
                .map_err(AdminError::from)?;
        }
        tracing::info!(client_id = %id, "machine client deleted");
        shared::audit::record("client_deleted", Actor::Operator, id.as_str(), "success");
        Ok(Response::new(pb::DeleteClientResponse {}))
    }

    async fn add_secret(&self, request: Request<pb::ClientRef>) -> Result<Response<pb::AddSecretResponse>, Status> {
        let mut client = self.load(&request.into_inner().client_id).await?;
        let issued = lifecycle::add_secret(&mut client, &self.hasher, shared::time::unix_now())?;
        self.save(client, "secret_added").await?;
        Ok(Response::new(pb::AddSecretResponse {
            secret_id: issued.secret.id,
            client_secret: issued.value,
        }))
    }

    async fn revoke_secret(
        &self,
        request: Request<pb::RevokeSecretRequest>,
    ) -> Result<Response<pb::ClientInfo>, Status> {
        let request = request.into_inner();
        self.change(&request.client_id, "secret_revoked", |client| {
            lifecycle::revoke_secret(client, &request.secret_id)
        })
        .await
    }

    async fn set_keys(&self, request: Request<pb::SetKeysRequest>) -> Result<Response<pb::ClientInfo>, Status> {
        let request = request.into_inner();
        let keys = match request.source {
            Some(pb::set_keys_request::Source::JwksJson(json)) => ClientKeys::Jwks(json),
            Some(pb::set_keys_request::Source::JwksUri(uri)) => ClientKeys::JwksUri(uri),
            None => return Err(AdminError::invalid("give jwks_json or jwks_uri").into()),
        };
        let destinations = self.destinations();
        self.change(&request.client_id, "keys_set", |client| {
            lifecycle::set_keys(client, keys, destinations)
        })
        .await
    }

    async fn set_certificate(
        &self,
        request: Request<pb::SetCertificateRequest>,
    ) -> Result<Response<pb::ClientInfo>, Status> {
        let request = request.into_inner();
        let binding = match request.binding {
            Some(pb::set_certificate_request::Binding::SubjectDn(dn)) => CertificateBinding::SubjectDn(dn),
            Some(pb::set_certificate_request::Binding::SanDns(name)) => CertificateBinding::SanDns(name),
            Some(pb::set_certificate_request::Binding::CertificatePem(pem)) => {
                CertificateBinding::self_signed(&pem).map_err(AdminError::invalid)?
            }
            None => return Err(AdminError::invalid("give subject_dn, san_dns or certificate_pem").into()),
        };
        self.change(&request.client_id, "certificate_set", |client| {
            lifecycle::set_certificate(client, binding)
        })
        .await
    }

    async fn federate_client(&self, request: Request<pb::WorkloadRequest>) -> Result<Response<pb::ClientInfo>, Status> {
        self.federate(request.into_inner()).await
    }

    async fn unfederate_client(
        &self,
        request: Request<pb::WorkloadRequest>,
    ) -> Result<Response<pb::ClientInfo>, Status> {
        self.unfederate(request.into_inner()).await
    }
}
