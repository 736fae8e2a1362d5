//! `agentctl clients …` through token-service's `ClientAdmin` gRPC API. Every command
//! prints a readable table or key/value lines, or with `--json` one JSON document for
//! scripts. A secret is printed once, when it is made; nothing can show it again.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use proto::clients::v1::client_admin_client::ClientAdminClient;
use tonic::transport::Channel;

use crate::channel::TokenTarget;

use self::commands::{add_secret, create, delete, list, revoke_secret, set_cert, set_enabled, set_keys, show, update};

mod commands;
mod federate;
mod print;

#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// Create a client; prints its client_id and client_secret (the secret only once).
    Create(CreateArgs),
    /// Every client, one line each.
    List(Common),
    /// One client in full.
    Show(ClientArgs),
    /// Change a client's name, scopes or flags; what is not given stays.
    Update(UpdateArgs),
    /// Refuse the client every token, and make its live tokens introspect inactive.
    Disable(ClientArgs),
    /// Undo `disable`.
    Enable(ClientArgs),
    /// Remove the client; its live tokens introspect inactive.
    Delete(ClientArgs),
    /// Rotate secrets: `add` a second one, move the client over, `revoke` the first.
    #[command(subcommand)]
    Secret(SecretCommand),
    /// private_key_jwt: the client's public keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// tls_client_auth / self_signed_tls_client_auth: the client's certificate.
    #[command(subcommand)]
    Cert(CertCommand),
    /// Workload identity federation: the client authenticates with the token its
    /// workload already has (a Kubernetes service-account token, a SPIFFE JWT-SVID)
    /// from a trusted issuer, and holds no secret. Repeat for several workloads.
    Federate(WorkloadArgs),
    /// Unbind a workload `federate` bound (the last one stays).
    Unfederate(WorkloadArgs),
}

/// A workload: its issuer, and its subject exactly or (written as such) a prefix.
#[derive(Debug, Args)]
#[group(id = "subject_match", required = true, multiple = false, args = ["subject", "subject_prefix"])]
pub struct WorkloadArgs {
    pub client_id: String,
    /// A trusted issuer, exactly as token-service's workload_identity.issuers names it.
    #[arg(long)]
    pub issuer: String,
    /// The token's exact sub: system:serviceaccount:NAMESPACE:NAME or spiffe://DOMAIN/PATH.
    #[arg(long)]
    pub subject: Option<String>,
    /// Every sub starting with this, ending where a segment does
    /// (system:serviceaccount:NAMESPACE: or spiffe://DOMAIN/PATH/).
    #[arg(long)]
    pub subject_prefix: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// A new secret beside the current one (at most two); printed once.
    Add(ClientArgs),
    /// End a secret at once, on every replica.
    Revoke(RevokeSecretArgs),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Register a JWK Set (file) or the URL the client publishes one at; the client then
    /// authenticates with private_key_jwt only.
    Set(SetKeysArgs),
}

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Register the certificate the client authenticates with over mTLS.
    Set(SetCertArgs),
}

/// Flags every `clients` command takes.
#[derive(Debug, Args)]
pub struct Common {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub target: TokenTarget,
    #[command(flatten)]
    pub tls: crate::channel::TlsTarget,
}

#[derive(Debug, Args)]
pub struct ClientArgs {
    pub client_id: String,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// A scope the client may request; repeat for several (`--scope a --scope b`).
    #[arg(long = "scope", required = true)]
    pub scopes: Vec<String>,
    /// A label for operators.
    #[arg(long, default_value = "")]
    pub name: String,
    /// Every token it gets must be DPoP-bound.
    #[arg(long)]
    pub requires_dpop: bool,
    /// A resource server: may call /oauth2/introspect.
    #[arg(long)]
    pub introspect: bool,
    /// A party (client id or agent registration id) that may act for this client by
    /// token exchange (RFC 8693); repeat for several.
    #[arg(long = "may-act", value_name = "ID")]
    pub may_act: Vec<String>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    pub client_id: String,
    #[arg(long)]
    pub name: Option<String>,
    /// Replaces the allowed scopes; repeat for several.
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    #[arg(long)]
    pub requires_dpop: Option<bool>,
    #[arg(long)]
    pub introspect: Option<bool>,
    /// Replaces who may act for the client by token exchange; repeat for several.
    #[arg(long = "may-act", value_name = "ID", conflicts_with = "no_actors")]
    pub may_act: Vec<String>,
    /// Nobody may act for the client any more.
    #[arg(long)]
    pub no_actors: bool,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct RevokeSecretArgs {
    pub client_id: String,
    /// The secret's id (`sec_…`), as `clients show` lists it.
    pub secret_id: String,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
#[group(id = "source", required = true, multiple = false, args = ["jwks", "jwks_uri"])]
pub struct SetKeysArgs {
    pub client_id: String,
    /// A JWK Set file of public keys.
    #[arg(long)]
    pub jwks: Option<PathBuf>,
    /// Where the client publishes its JWK Set (https).
    #[arg(long)]
    pub jwks_uri: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
#[group(id = "binding", required = true, multiple = false, args = ["subject_dn", "san_dns", "cert"])]
pub struct SetCertArgs {
    pub client_id: String,
    /// tls_client_auth: the certificate's subject DN (e.g. "CN=reporter,O=Example").
    #[arg(long)]
    pub subject_dn: Option<String>,
    /// tls_client_auth: a DNS name in the certificate's subjectAltName.
    #[arg(long)]
    pub san_dns: Option<String>,
    /// self_signed_tls_client_auth: the client's own certificate (PEM file).
    #[arg(long)]
    pub cert: Option<PathBuf>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientsError {
    #[error("cannot reach token-service at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("token-service refused: {0}")]
    Refused(String),
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
}

async fn connect(common: &Common) -> Result<ClientAdminClient<Channel>, ClientsError> {
    let url = &common.target.token_grpc;
    let channel = crate::channel::connect(url, "token-service", &common.tls.tls_dir)
        .await
        .map_err(|reason| ClientsError::Unreachable {
            url: url.to_owned(),
            reason,
        })?;
    Ok(ClientAdminClient::new(channel))
}

fn refused(status: tonic::Status) -> ClientsError {
    ClientsError::Refused(status.message().to_owned())
}

pub async fn run(command: ClientsCommand) -> Result<(), ClientsError> {
    match command {
        ClientsCommand::Create(args) => create(args).await,
        ClientsCommand::List(common) => list(common).await,
        ClientsCommand::Show(args) => show(args).await,
        ClientsCommand::Update(args) => update(args).await,
        ClientsCommand::Disable(args) => set_enabled(args, false).await,
        ClientsCommand::Enable(args) => set_enabled(args, true).await,
        ClientsCommand::Delete(args) => delete(args).await,
        ClientsCommand::Secret(SecretCommand::Add(args)) => add_secret(args).await,
        ClientsCommand::Secret(SecretCommand::Revoke(args)) => revoke_secret(args).await,
        ClientsCommand::Keys(KeysCommand::Set(args)) => set_keys(args).await,
        ClientsCommand::Cert(CertCommand::Set(args)) => set_cert(args).await,
        ClientsCommand::Federate(args) => federate::federate(args, true).await,
        ClientsCommand::Unfederate(args) => federate::federate(args, false).await,
    }
}
