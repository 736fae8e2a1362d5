//! `agentctl keys …` through jwks-service's `KeyAdmin` gRPC API.

use std::time::{Duration, UNIX_EPOCH};

use clap::{Args, Subcommand};
use proto::keys::v1::key_admin_client::KeyAdminClient;
use proto::keys::v1::{KeyInfo, ListKeysRequest, RewrapRequest, RotateRequest};
use tonic::transport::Channel;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Schedule a new signing key: published now, signing after the publish-ahead time.
    Rotate(RotateArgs),
    /// Show every published key: kid, algorithm, state and times.
    List(JwksTarget),
    /// Re-seal every stored private key under the current key-encryption key (after
    /// moving the old KEK to keys.previous_keks); the old KEK can then be dropped.
    Rewrap(JwksTarget),
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    /// Sign with the new key at once. Verifiers still caching the old key set fail until
    /// they refetch: only for a compromised key.
    #[arg(long)]
    pub now: bool,
    #[command(flatten)]
    pub target: JwksTarget,
}

/// Where jwks-service's internal gRPC port is.
#[derive(Debug, Clone, Args)]
pub struct JwksTarget {
    /// jwks-service internal gRPC URL.
    #[arg(long, env = "AGENTAUTH_JWKS_GRPC", default_value = "http://127.0.0.1:50051")]
    pub jwks_grpc: String,
    #[command(flatten)]
    pub tls: crate::channel::TlsTarget,
}

#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("cannot reach jwks-service at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("jwks-service refused: {0}")]
    Refused(String),
}

pub async fn run(command: KeysCommand) -> Result<(), KeysError> {
    match command {
        KeysCommand::Rotate(args) => {
            let mut admin = connect(&args.target).await?;
            let key = admin
                .rotate(RotateRequest { immediate: args.now })
                .await
                .map_err(|status| KeysError::Refused(status.message().to_owned()))?
                .into_inner();
            println!(
                "scheduled {} ({}), signing from {}",
                key.kid,
                key.alg,
                when(key.activate_at_ms)
            );
        }
        KeysCommand::Rewrap(target) => {
            let mut admin = connect(&target).await?;
            let result = admin
                .rewrap(RewrapRequest {})
                .await
                .map_err(|status| KeysError::Refused(status.message().to_owned()))?
                .into_inner();
            println!("re-sealed {} key(s) under KEK {}", result.rewrapped, result.kek_id);
        }
        KeysCommand::List(target) => {
            let mut admin = connect(&target).await?;
            let keys = admin
                .list_keys(ListKeysRequest {})
                .await
                .map_err(|status| KeysError::Refused(status.message().to_owned()))?
                .into_inner()
                .keys;
            println!("{:<44} {:<6} {:<9} {:<21} signs from", "kid", "alg", "state", "created");
            for key in keys {
                print_key(&key);
            }
        }
    }
    Ok(())
}

fn print_key(key: &KeyInfo) {
    println!(
        "{:<44} {:<6} {:<9} {:<21} {}",
        key.kid,
        key.alg,
        key.state,
        when(key.created_at_ms),
        when(key.activate_at_ms)
    );
}

fn when(unix_ms: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(unix_ms.max(0) as u64);
    humantime::format_rfc3339_seconds(at).to_string()
}

async fn connect(target: &JwksTarget) -> Result<KeyAdminClient<Channel>, KeysError> {
    let channel = crate::channel::connect(&target.jwks_grpc, "jwks-service", &target.tls.tls_dir)
        .await
        .map_err(|reason| KeysError::Unreachable {
            url: target.jwks_grpc.clone(),
            reason,
        })?;
    Ok(KeyAdminClient::new(channel))
}
