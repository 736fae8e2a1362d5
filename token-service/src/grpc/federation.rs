//! `FederateClient` / `UnfederateClient`, and the workload index kept beside the client
//! records: a request that names no `client_id` finds its client by the workload.

use proto::clients::v1 as pb;
use tonic::{Response, Status};

use super::ClientAdminGrpc;
use crate::clients::lifecycle;
use crate::clients::{Client, WorkloadBinding};
use crate::error::AdminError;

impl ClientAdminGrpc {
    pub(super) async fn federate(&self, request: pb::WorkloadRequest) -> Result<Response<pb::ClientInfo>, Status> {
        let binding = self.binding(request.workload)?;
        let kind = self
            .workloads
            .get(&binding.issuer)
            .map(|issuer| issuer.kind)
            .ok_or_else(|| {
                AdminError::invalid(
                    "the issuer is not one of token-service's workload_identity.issuers (exactly as configured)",
                )
            })?;
        self.change(&request.client_id, "workload_federated", |client| {
            lifecycle::federate(client, binding, kind)
        })
        .await
    }

    pub(super) async fn unfederate(&self, request: pb::WorkloadRequest) -> Result<Response<pb::ClientInfo>, Status> {
        let binding = self.binding(request.workload)?;
        self.change(&request.client_id, "workload_unfederated", |client| {
            lifecycle::unfederate(client, &binding)
        })
        .await
    }

    fn binding(&self, workload: Option<pb::WorkloadSubject>) -> Result<WorkloadBinding, AdminError> {
        let workload = workload.ok_or_else(|| AdminError::invalid("give the workload's issuer and subject"))?;
        Ok(WorkloadBinding {
            issuer: workload.issuer,
            subject: workload.subject,
            prefix: workload.prefix,
        })
    }

    /// Indexes the workloads `client` gained over `before`, refusing one another client
    /// stands for. Runs before the record is stored: an index entry whose record never
    /// got the binding authenticates nothing, since the record decides.
    pub(super) async fn index_gained(&self, before: &[WorkloadBinding], client: &Client) -> Result<(), AdminError> {
        for binding in client.workloads.iter().filter(|b| !before.contains(b)) {
            let Some(holder) = self.clients.bind_workload(binding, &client.client_id).await? else {
                continue;
            };
            let still_held = self
                .clients
                .get(&holder)
                .await?
                .is_some_and(|other| other.workloads.contains(binding));
            if still_held {
                return Err(AdminError::Conflict(format!(
                    "{} already stands for {}; unfederate it there first",
                    holder,
                    binding.display()
                )));
            }
            self.clients.rebind_workload(binding, &client.client_id).await?;
        }
        Ok(())
    }

    /// Drops the index entries of workloads `client` no longer stands for.
    pub(super) async fn index_lost(&self, before: &[WorkloadBinding], client: &Client) -> Result<(), AdminError> {
        for binding in before.iter().filter(|b| !client.workloads.contains(b)) {
            self.clients.unbind_workload(binding, &client.client_id).await?;
        }
        Ok(())
    }
}

/// What an operator sees of a binding.
pub(super) fn info(binding: &WorkloadBinding) -> pb::WorkloadSubject {
    pb::WorkloadSubject {
        issuer: binding.issuer.clone(),
        subject: binding.subject.clone(),
        prefix: binding.prefix,
    }
}
