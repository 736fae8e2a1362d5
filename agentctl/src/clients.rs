//! `agentctl clients …` through token-service's `ClientAdmin` gRPC API.

use clap::Args;
use proto::clients::v1::CreateClientRequest;
use proto::clients::v1::client_admin_client::ClientAdminClient;

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
    #[command(flatten)]
    pub tls: crate::channel::TlsTarget,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientsError {
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
    let created = create_client(&args.target.token_grpc, &args.tls.tls_dir, args.scopes, args.name).await?;
    println!("client_id:     {}", created.client_id);
    println!("client_secret: {}", created.client_secret);
    println!("scopes:        {}", created.scopes.join(" "));
    eprintln!("the client secret is shown once; store it now");
    Ok(())
}

pub async fn create_client(
    url: &str,
    tls_dir: &std::path::Path,
    scopes: Vec<String>,
    name: String,
) -> Result<CreatedClient, ClientsError> {
    let channel = crate::channel::connect(url, "token-service", tls_dir)
        .await
        .map_err(|reason| ClientsError::Unreachable {
            url: url.to_owned(),
            reason,
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
