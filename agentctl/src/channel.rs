//! How agentctl dials a service's internal gRPC port: over mutual TLS with agentctl's own
//! certificate when the TLS directory holds one (always, for `agentctl dev` and any
//! production deployment), else plaintext.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use tonic::transport::{Channel, Endpoint};

/// Where agentctl's certificate is (the layout of `agentctl certs init`).
#[derive(Debug, Clone, Args)]
pub struct TlsTarget {
    /// Directory holding ca.pem, agentctl.pem and agentctl-key.pem.
    #[arg(long, env = "AGENTAUTH_TLS_DIR", default_value_os_t = default_tls_dir())]
    pub tls_dir: PathBuf,
}

/// Where token-service's internal gRPC port is.
#[derive(Debug, Clone, Args)]
pub struct TokenTarget {
    /// token-service internal gRPC URL.
    #[arg(long, env = "AGENTAUTH_TOKEN_GRPC", default_value = "http://127.0.0.1:50051")]
    pub token_grpc: String,
}

/// Where `agentctl dev` writes its PKI and other commands look for it by default.
pub fn default_tls_dir() -> PathBuf {
    std::env::temp_dir().join("agentauth-dev-tls")
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

/// A connected channel to `url`, whose certificate must name `server_name`.
pub async fn connect(url: &str, server_name: &str, tls_dir: &Path) -> Result<Channel, String> {
    let tls = if tls_dir.join("agentctl.pem").exists() {
        let tls = shared::tls::InternalTls::from_dir(tls_dir, "agentctl", "--tls-dir").map_err(|e| e.to_string())?;
        Some(tls)
    } else {
        None
    };
    let url = match tls {
        Some(_) => url.replacen("http://", "https://", 1),
        None => url.to_owned(),
    };
    let mut endpoint = Endpoint::from_shared(url).map_err(|e| e.to_string())?;
    if let Some(tls) = &tls {
        endpoint = endpoint
            .tls_config(tls.client_config(server_name))
            .map_err(|e| e.to_string())?;
    }
    endpoint
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(10))
        .connect()
        .await
        .map_err(|e| with_causes(&e))
}
