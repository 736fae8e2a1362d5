//! `agentctl certs init`: writes the internal PKI for mTLS between the services (see
//! [`shared::pki`]); also usable as Kubernetes secrets. `agentctl certs renew` issues new
//! certificates under the same CA, so replicas can move to them one at a time.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use shared::pki::{MEMBERS, PkiError};

#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Create an internal CA and a certificate + key for every service and agentctl.
    Init(InitArgs),
    /// New certificates + keys for every service and agentctl, signed by the existing CA
    /// (ca.pem and ca-key.pem in --ca-dir); writes ca.pem and them into --out.
    Renew(RenewArgs),
}

#[derive(Debug, Args)]
pub struct RenewArgs {
    /// The directory `certs init` wrote (its ca.pem and ca-key.pem are read).
    #[arg(long)]
    pub ca_dir: PathBuf,
    /// Directory to write into (created if missing; existing files are not overwritten).
    #[arg(long)]
    pub out: PathBuf,
    /// Kubernetes namespace, for the `<service>.<namespace>.svc` names.
    #[arg(long, default_value = "agentauth")]
    pub namespace: String,
    /// Validity of the new certificates, in days.
    #[arg(long, default_value_t = 365)]
    pub days: i64,
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
    let members: Vec<(&str, &[&str])> = MEMBERS.iter().map(|m| (*m, &[][..])).collect();
    let written = match command {
        CertsCommand::Init(args) => {
            let written = shared::pki::generate(&members, &args.namespace, args.days)?.write(&args.out)?;
            eprintln!("keep ca-key.pem offline; mount the others as the services' secrets");
            written
        }
        CertsCommand::Renew(args) => {
            let written = shared::pki::renew(&args.ca_dir, &members, &args.namespace, args.days)?.write(&args.out)?;
            eprintln!("same CA: replace the secret, then restart each Deployment (kubectl rollout restart)");
            written
        }
    };
    for path in written {
        println!("{}", path.display());
    }
    Ok(())
}
