//! `agentctl certs init`: writes the internal PKI for mTLS between the services (see
//! [`shared::pki`]); also usable as Kubernetes secrets.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use shared::pki::{MEMBERS, PkiError};

#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Create an internal CA and a certificate + key for every service and agentctl.
    Init(InitArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory to write into (created if missing; existing files are not overwritten).
    #[arg(long)]
    pub out: PathBuf,
    /// Kubernetes namespace, for the `<service>.<namespace>.svc` names.
    #[arg(long, default_value = "agentauth")]
    pub namespace: String,
    /// Validity of the service certificates, in days (the CA gets ten times as long).
    #[arg(long, default_value_t = 365)]
    pub days: i64,
}

pub fn run(command: CertsCommand) -> Result<(), PkiError> {
    match command {
        CertsCommand::Init(args) => {
            let members: Vec<(&str, &[&str])> = MEMBERS.iter().map(|m| (*m, &[][..])).collect();
            let written = shared::pki::generate(&members, &args.namespace, args.days)?.write(&args.out)?;
            for path in written {
                println!("{}", path.display());
            }
            eprintln!("keep ca-key.pem offline; mount the others as the services' secrets");
            Ok(())
        }
    }
}
