//! The command line. With no flags every command targets a local `agentctl dev` on its
//! default addresses; flags or `AGENTAUTH_*` environment variables point elsewhere.

use clap::{Parser, Subcommand};

use crate::{certs, clients, dev, keys};

#[derive(Debug, Parser)]
#[command(
    name = "agentctl",
    version,
    about = "Operate agentauth: run it locally, manage clients"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run identity, token and JWKS services in one process (local development).
    Dev(dev::DevArgs),
    /// Manage machine clients: create, list, rotate secrets, keys and certificates.
    #[command(subcommand)]
    Clients(clients::ClientsCommand),
    /// Inspect and rotate signing keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// The internal PKI for mTLS between the services.
    #[command(subcommand)]
    Certs(certs::CertsCommand),
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Dev(#[from] dev::DevError),
    #[error(transparent)]
    Clients(#[from] clients::ClientsError),
    #[error(transparent)]
    Keys(#[from] keys::KeysError),
    #[error(transparent)]
    Certs(#[from] shared::pki::PkiError),
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Dev(args) => dev::run(args, shared::shutdown::signal()).await?,
        Command::Clients(command) => clients::run(command).await?,
        Command::Keys(command) => keys::run(command).await?,
        Command::Certs(command) => certs::run(command)?,
    }
    Ok(())
}
