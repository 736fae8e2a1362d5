//! `agentctl clients …` through token-service's `ClientAdmin` gRPC API.

use std::time::Duration;

use clap::Args;
use proto::clients::v1::CreateClientRequest;
use proto::clients::v1::client_admin_client::ClientAdminClient;
use tonic::transport::Endpoint;

use crate::cli::TokenTarget;

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// A scope the client may request; repeat for several (`--scope a --scope b`).
    #[arg(long = "scope", required = true)]
    pub scopes: Vec<String>,
    /// A label for operators.
    #[arg(long, default_value = "")]
    pub name: String,
    #[command(flatten)]
    pub target: TokenTarget,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientsError {
    #[error("bad token-service address `{url}`: {reason}")]
    BadAddress { url: String, reason: String },
    #[error("cannot reach token-service at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("token-service refused: {0}")]
    Refused(String),
}

/// What a created client is, as printed.
#[derive(Debug)]
pub struct CreatedClient {
    pub client_id: String,
    pub client_secret: String,
    pub scopes: Vec<String>,
}

pub async fn create(args: CreateArgs) -> Result<(), ClientsError> {
    let created = create_client(&args.target.token_grpc, args.scopes, args.name).await?;
    println!("client_id:     {}", created.client_id);
    println!("client_secret: {}", created.client_secret);
    println!("scopes:        {}", created.scopes.join(" "));
    eprintln!("the client secret is shown once; store it now");
    Ok(())
}

pub async fn create_client(url: &str, scopes: Vec<String>, name: String) -> Result<CreatedClient, ClientsError> {
    let endpoint = Endpoint::from_shared(url.to_owned()).map_err(|e| ClientsError::BadAddress {
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    let channel = endpoint
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(10))
        .connect()
        .await
        .map_err(|e| ClientsError::Unreachable {
            url: url.to_owned(),
            reason: with_causes(&e),
        })?;
    let response = ClientAdminClient::new(channel)
        .create_client(CreateClientRequest { scopes, name })
        .await
        .map_err(|status| ClientsError::Refused(status.message().to_owned()))?
        .into_inner();
    Ok(CreatedClient {
        client_id: response.client_id,
        client_secret: response.client_secret,
        scopes: response.scopes,
    })
}

/// An error with its whole source chain: "transport error: connection refused".
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
