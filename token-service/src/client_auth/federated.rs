//! A federated client's authentication: the workload token verified first (no store read
//! for a token we would refuse), then the client that stands for the workload, named by
//! `client_id` or found by the workload (one more read), which must be bound to it.

use protocol::oauth::auth_method;
use shared::audit::Actor;

use super::workload::VerifiedWorkload;
use super::workload::issuer::TrustedIssuer;
use super::{Authenticated, ClientAuthenticator};
use crate::clients::AuthMethod;
use crate::error::OAuthError;

impl ClientAuthenticator {
    pub(super) async fn federated(
        &self,
        issuer: &TrustedIssuer,
        named: Option<&str>,
        assertion: &str,
        spiffe: bool,
    ) -> Result<Authenticated, OAuthError> {
        let method = if spiffe {
            auth_method::SPIFFE_JWT
        } else {
            auth_method::PRIVATE_KEY_JWT
        };
        if !self.endpoint.accepts(method) {
            return Err(OAuthError::InvalidClient(
                "this client authentication method is not enabled on this server",
            ));
        }
        let workload = self
            .workloads
            .verify(issuer, assertion, shared::time::unix_now())
            .await?;
        let client = match named {
            Some(id) => self.registered(id).await?,
            None => match self
                .clients
                .workload_client(&workload.issuer, &workload.subject)
                .await?
            {
                Some(id) => self.clients.get(&id).await?,
                None => None,
            },
        };
        let refuse = |client_id: Option<&str>, reason: &'static str| {
            audit(&workload, client_id, reason);
            Err(OAuthError::InvalidClient(reason))
        };
        let Some(client) = client else {
            return refuse(named, "no client stands for this workload");
        };
        let id = client.client_id.as_str();
        let bound = client.auth_method == AuthMethod::Workload
            && client
                .workloads
                .iter()
                .any(|binding| binding.matches(&workload.issuer, &workload.subject));
        if !bound {
            return refuse(
                Some(id),
                "the client is not bound to this workload's issuer and subject",
            );
        }
        if client.disabled {
            return refuse(Some(id), "this client is disabled");
        }
        audit(&workload, Some(id), "success");
        Ok(Authenticated {
            client,
            certificate_thumbprint: None,
        })
    }
}

/// An audit event naming the workload's issuer and subject (verified: its signature
/// checked), the client it authenticated as, if any, and the outcome.
fn audit(workload: &VerifiedWorkload, client_id: Option<&str>, outcome: &str) {
    let actor = client_id.map_or(Actor::Anonymous, Actor::Client);
    let subject = format!("{} {}", workload.issuer, workload.subject);
    shared::audit::record("workload_authentication", actor, &subject, outcome);
}
