//! `agentctl clients …` through token-service's `ClientAdmin` gRPC API. Every command
//! prints a readable table or key/value lines, or with `--json` one JSON document for
//! scripts. A secret is printed once, when it is made; nothing can show it again.

use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use clap::{Args, Subcommand};
use proto::clients::v1 as pb;
use proto::clients::v1::client_admin_client::ClientAdminClient;
use serde_json::{Value, json};
use tonic::transport::Channel;

use crate::channel::TokenTarget;

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

fn read(path: &PathBuf) -> Result<String, ClientsError> {
    std::fs::read_to_string(path).map_err(|e| ClientsError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

pub async fn run(command: ClientsCommand) -> Result<(), ClientsError> {
    match command {
        ClientsCommand::Create(args) => {
            let created = connect(&args.common)
                .await?
                .create_client(pb::CreateClientRequest {
                    scopes: args.scopes,
                    name: args.name,
                    requires_dpop: args.requires_dpop,
                    introspect: args.introspect,
                })
                .await
                .map_err(refused)?
                .into_inner();
            print_created(&created, args.common.json);
        }
        ClientsCommand::List(common) => {
            let clients = connect(&common)
                .await?
                .list_clients(pb::ListClientsRequest {})
                .await
                .map_err(refused)?
                .into_inner()
                .clients;
            if common.json {
                println!("{}", json!(clients.iter().map(client_json).collect::<Vec<_>>()));
            } else {
                print_table(&clients);
            }
        }
        ClientsCommand::Show(args) => {
            let client = connect(&args.common)
                .await?
                .get_client(client_ref(&args.client_id))
                .await
                .map_err(refused)?
                .into_inner();
            print_client(&client, args.common.json);
        }
        ClientsCommand::Update(args) => {
            let client = connect(&args.common)
                .await?
                .update_client(pb::UpdateClientRequest {
                    client_id: args.client_id,
                    name: args.name,
                    scopes: args.scopes,
                    requires_dpop: args.requires_dpop,
                    introspect: args.introspect,
                })
                .await
                .map_err(refused)?
                .into_inner();
            print_client(&client, args.common.json);
        }
        ClientsCommand::Disable(args) => set_enabled(args, false).await?,
        ClientsCommand::Enable(args) => set_enabled(args, true).await?,
        ClientsCommand::Delete(args) => {
            connect(&args.common)
                .await?
                .delete_client(client_ref(&args.client_id))
                .await
                .map_err(refused)?;
            if args.common.json {
                println!("{}", json!({ "client_id": args.client_id, "deleted": true }));
            } else {
                println!("deleted {}", args.client_id);
            }
        }
        ClientsCommand::Secret(SecretCommand::Add(args)) => {
            let added = connect(&args.common)
                .await?
                .add_secret(client_ref(&args.client_id))
                .await
                .map_err(refused)?
                .into_inner();
            if args.common.json {
                println!(
                    "{}",
                    json!({ "client_id": args.client_id, "secret_id": added.secret_id, "client_secret": added.client_secret })
                );
            } else {
                println!("secret_id:     {}", added.secret_id);
                println!("client_secret: {}", added.client_secret);
                eprintln!(
                    "the client secret is shown once; store it now. Revoke the old one once the client uses this one."
                );
            }
        }
        ClientsCommand::Secret(SecretCommand::Revoke(args)) => {
            let client = connect(&args.common)
                .await?
                .revoke_secret(pb::RevokeSecretRequest {
                    client_id: args.client_id,
                    secret_id: args.secret_id,
                })
                .await
                .map_err(refused)?
                .into_inner();
            print_client(&client, args.common.json);
        }
        ClientsCommand::Keys(KeysCommand::Set(args)) => {
            let source = match (&args.jwks, args.jwks_uri) {
                (Some(path), _) => pb::set_keys_request::Source::JwksJson(read(path)?),
                (None, Some(uri)) => pb::set_keys_request::Source::JwksUri(uri),
                (None, None) => return Err(ClientsError::Refused("give --jwks or --jwks-uri".into())),
            };
            let client = connect(&args.common)
                .await?
                .set_keys(pb::SetKeysRequest {
                    client_id: args.client_id,
                    source: Some(source),
                })
                .await
                .map_err(refused)?
                .into_inner();
            print_client(&client, args.common.json);
        }
        ClientsCommand::Cert(CertCommand::Set(args)) => {
            use pb::set_certificate_request::Binding;
            let binding = match (args.subject_dn, args.san_dns, &args.cert) {
                (Some(dn), _, _) => Binding::SubjectDn(dn),
                (None, Some(name), _) => Binding::SanDns(name),
                (None, None, Some(path)) => Binding::CertificatePem(read(path)?),
                (None, None, None) => {
                    return Err(ClientsError::Refused("give --subject-dn, --san-dns or --cert".into()));
                }
            };
            let client = connect(&args.common)
                .await?
                .set_certificate(pb::SetCertificateRequest {
                    client_id: args.client_id,
                    binding: Some(binding),
                })
                .await
                .map_err(refused)?
                .into_inner();
            print_client(&client, args.common.json);
        }
    }
    Ok(())
}

async fn set_enabled(args: ClientArgs, enabled: bool) -> Result<(), ClientsError> {
    let client = connect(&args.common)
        .await?
        .set_client_enabled(pb::SetClientEnabledRequest {
            client_id: args.client_id,
            enabled,
        })
        .await
        .map_err(refused)?
        .into_inner();
    print_client(&client, args.common.json);
    Ok(())
}

fn client_ref(client_id: &str) -> pb::ClientRef {
    pb::ClientRef {
        client_id: client_id.to_owned(),
    }
}

fn print_created(created: &pb::CreateClientResponse, as_json: bool) {
    if as_json {
        println!(
            "{}",
            json!({
                "client_id": created.client_id,
                "client_secret": created.client_secret,
                "secret_id": created.secret_id,
                "scopes": created.scopes,
            })
        );
        return;
    }
    println!("client_id:     {}", created.client_id);
    println!("client_secret: {}", created.client_secret);
    println!("secret_id:     {}", created.secret_id);
    println!("scopes:        {}", created.scopes.join(" "));
    eprintln!("the client secret is shown once; store it now");
}

fn client_json(client: &pb::ClientInfo) -> Value {
    json!({
        "client_id": client.client_id,
        "name": client.name,
        "scopes": client.scopes,
        "auth_method": client.auth_method,
        "enabled": client.enabled,
        "created_at": when(client.created_at),
        "secrets": client.secrets.iter().map(|s| json!({ "secret_id": s.secret_id, "created_at": when(s.created_at) })).collect::<Vec<_>>(),
        "keys": (!client.keys.is_empty()).then_some(&client.keys),
        "certificate": (!client.certificate.is_empty()).then_some(&client.certificate),
        "requires_dpop": client.requires_dpop,
        "introspect": client.introspect,
    })
}

fn print_client(client: &pb::ClientInfo, as_json: bool) {
    if as_json {
        println!("{}", client_json(client));
        return;
    }
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    println!("client_id:     {}", client.client_id);
    println!("name:          {}", client.name);
    println!("enabled:       {}", yes_no(client.enabled));
    println!("auth_method:   {}", client.auth_method);
    println!("scopes:        {}", client.scopes.join(" "));
    println!("created:       {}", when(client.created_at));
    for secret in &client.secrets {
        println!(
            "secret:        {} (created {})",
            secret.secret_id,
            when(secret.created_at)
        );
    }
    if !client.keys.is_empty() {
        println!("keys:          {}", client.keys);
    }
    if !client.certificate.is_empty() {
        println!("certificate:   {}", client.certificate);
    }
    println!("requires_dpop: {}", yes_no(client.requires_dpop));
    println!("introspect:    {}", yes_no(client.introspect));
}

fn print_table(clients: &[pb::ClientInfo]) {
    println!(
        "{:<36} {:<16} {:<28} {:<8} {:<7} scopes",
        "client_id", "name", "auth_method", "enabled", "secrets"
    );
    for client in clients {
        println!(
            "{:<36} {:<16} {:<28} {:<8} {:<7} {}",
            client.client_id,
            truncate(&client.name, 16),
            client.auth_method,
            if client.enabled { "yes" } else { "no" },
            client.secrets.len(),
            client.scopes.join(" ")
        );
    }
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(width - 1).collect();
        cut.push('…');
        cut
    }
}

fn when(unix_secs: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_secs(unix_secs.max(0) as u64);
    humantime::format_rfc3339_seconds(at).to_string()
}
