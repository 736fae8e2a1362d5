//! `agentctl dev`: the whole system in one process for local work. The three services
//! keep their own settings and stores and still talk gRPC to each other over loopback;
//! their HTTP routes share one port, as they would behind the ingress.

mod settings;

use std::future::Future;
use std::time::Duration;

use clap::Args;
use identity_service::startup::IdentityService;
use jwks_service::startup::JwksService;
use shared::grpc::ServeError;
use shared::serve::{BindError, Context, Listeners, Parts, Service, StartupError};
use shared::settings::{ListenSettings, ServiceSettings, Sources};
use shared::store::Connections;
use token_service::startup::TokenService;

#[derive(Debug, Clone, Args)]
pub struct DevArgs {
    /// HTTP listen address for every public route.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http: String,
    /// Internal gRPC listen address (the services' own calls, and agentctl's).
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub grpc: String,
    /// Use this Redis instead of the in-memory store (e.g. redis://127.0.0.1:6379).
    #[arg(long, env = "AGENTAUTH_REDIS_URL")]
    pub redis_url: Option<String>,
    /// Public base URL (the issuer); defaults to http://<http address>.
    #[arg(long)]
    pub public_base_url: Option<String>,
    /// Directory where claim mails are written as .eml files (no mail leaves the machine).
    #[arg(long)]
    pub outbox: Option<std::path::PathBuf>,
    /// Where the ephemeral internal PKI is written (agentctl reads its certificate there).
    #[arg(long, env = "AGENTAUTH_TLS_DIR", default_value_os_t = crate::channel::default_tls_dir())]
    pub tls_dir: std::path::PathBuf,
    /// Key-encryption key file (32 random bytes, base64) sealing signing keys in the store.
    /// Without it an ephemeral KEK is used: fine in memory, but with --redis-url the keys
    /// stored by one run cannot be opened by the next. (Likewise give it a `hash_pepper`,
    /// e.g. AGENTAUTH__HASH_PEPPER__FILE, or client secrets stop matching after a restart.)
    #[arg(long)]
    pub kek_file: Option<std::path::PathBuf>,
    /// Serve the whole process's Prometheus metrics at http://ADDR/metrics.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<String>,
    /// Log lines as human-readable text or as JSON (the services' production format).
    #[arg(long, value_enum, default_value_t = LogFormatArg::Text)]
    pub log_format: LogFormatArg,
    /// Export traces over OTLP/gRPC to this collector (e.g. http://127.0.0.1:4317); also
    /// on when OTEL_EXPORTER_OTLP_ENDPOINT is set.
    #[arg(long, value_name = "URL")]
    pub otlp_endpoint: Option<String>,
    /// Share of new traces kept when exporting (a trace the caller sampled is kept).
    #[arg(long, default_value_t = 1.0, value_name = "RATIO")]
    pub trace_sample_ratio: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormatArg {
    Text,
    Json,
}

impl DevArgs {
    /// What the runner's telemetry is, from its flags and the standard OTLP variable.
    pub fn telemetry(&self, otel_exporter_otlp_endpoint: Option<String>) -> shared::telemetry::TelemetrySettings {
        shared::telemetry::TelemetrySettings {
            otlp_endpoint: self.otlp_endpoint.clone(),
            sample_ratio: self.trace_sample_ratio,
            log_format: match self.log_format {
                LogFormatArg::Text => shared::telemetry::LogFormat::Text,
                LogFormatArg::Json => shared::telemetry::LogFormat::Json,
            },
        }
        .with_standard_endpoint(otel_exporter_otlp_endpoint)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DevError {
    #[error("bad listen address `{0}`: expected host:port with a port from 0 to 65535")]
    BadAddress(String),
    #[error(transparent)]
    Bind(#[from] BindError),
    #[error("{service}: {source}")]
    Service {
        service: &'static str,
        source: StartupError,
    },
    #[error("server failed: {0}")]
    Serve(ServeError),
    #[error("dev PKI: {0}")]
    Pki(shared::pki::PkiError),
    #[error(
        "the services did not exchange signing keys within {0:?} (with --redis-url, pass the --kek-file that sealed the stored key)"
    )]
    NotReady(Duration),
}

/// The three services, built and pointed at each other.
#[derive(Debug)]
pub struct DevSystem {
    listeners: Listeners,
    pub issuer: String,
    grpc_tls: std::sync::Arc<shared::tls::TlsServerConfig>,
    tls_dir: std::path::PathBuf,
    /// Kept for as long as the system runs (dropping jwks-service stops its key loader).
    _jwks: JwksService,
    identity: IdentityService,
    token: TokenService,
    /// The three services' parts, served by one process.
    parts: Parts,
}

impl DevSystem {
    /// Binds both ports, then builds every service against them. Settings start from
    /// each service's defaults in the development profile; `AGENTAUTH_CONFIG` and
    /// `AGENTAUTH__…` still apply on top.
    pub async fn build(args: &DevArgs, sources: Sources) -> Result<Self, DevError> {
        let metrics = args.metrics.as_deref().map(listen).transpose()?;
        let listeners = Listeners::bind(&listen(&args.http)?, &listen(&args.grpc)?, metrics.as_ref())?;
        let issuer = args
            .public_base_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", listeners.http_addr()));
        let server_tls = crate::dev_pki::prepare(&args.tls_dir).map_err(DevError::Pki)?;
        let (jwks, identity, token) = settings::dev_settings(args, &issuer, listeners.grpc_addr());
        // One Redis connection for the whole process, whichever services use it.
        let connections = Connections::default();
        let (jwks, jwks_parts) = build::<JwksService>(jwks, sources.clone(), &connections).await?;
        let (identity, identity_parts) = build::<IdentityService>(identity, sources.clone(), &connections).await?;
        let (token, token_parts) = build::<TokenService>(token, sources, &connections).await?;
        Ok(Self {
            _jwks: jwks,
            identity,
            token,
            parts: Parts::merge([jwks_parts, identity_parts, token_parts]),
            grpc_tls: server_tls.server_config(&shared::pki::MEMBERS).map_err(|e| {
                DevError::Pki(shared::pki::PkiError::Write {
                    path: args.tls_dir.clone(),
                    source: std::io::Error::other(e.to_string()),
                })
            })?,
            tls_dir: args.tls_dir.clone(),
            listeners,
            issuer,
        })
    }

    pub fn http_addr(&self) -> std::net::SocketAddr {
        self.listeners.http_addr()
    }

    pub fn grpc_addr(&self) -> std::net::SocketAddr {
        self.listeners.grpc_addr()
    }

    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Result<(), DevError> {
        // Nothing balances traffic to a developer's runner: stop at once.
        let schedule = shared::shutdown::ShutdownSettings::immediate();
        shared::serve::run(self.listeners, self.parts, Some(self.grpc_tls), schedule, shutdown)
            .await
            .map_err(DevError::Serve)
    }
}

/// Loads a service's settings over the dev defaults and builds it, naming it on failure.
async fn build<S: Service>(
    defaults: S::Settings,
    sources: Sources,
    connections: &Connections,
) -> Result<(S, Parts), DevError> {
    let fail = |source: StartupError| DevError::Service {
        service: S::NAME,
        source,
    };
    let settings = S::Settings::load_over(defaults, sources).map_err(|e| fail(e.into()))?;
    let context = Context::load(S::common(&settings), S::NAME, connections.clone()).map_err(|e| fail(e.into()))?;
    S::build(&settings, &context).await.map_err(fail)
}

fn listen(address: &str) -> Result<ListenSettings, DevError> {
    let (host, port) = address
        .rsplit_once(':')
        .and_then(|(host, port)| Some((host, port.parse().ok()?)))
        .ok_or_else(|| DevError::BadAddress(address.to_owned()))?;
    Ok(ListenSettings::new(
        host.trim_start_matches('[').trim_end_matches(']'),
        port,
    ))
}

/// How long the services may take to exchange signing keys before `dev` gives up.
const READY_LIMIT: Duration = Duration::from_secs(15);

pub async fn run(args: DevArgs, shutdown: impl Future<Output = ()>) -> Result<(), DevError> {
    let system = DevSystem::build(&args, Sources::from_process()).await?;
    let banner = banner(&system, args.redis_url.as_deref());
    let key_rings = [system.identity.key_ring(), system.token.key_ring()];
    let serving = system.run_until(shutdown);
    tokio::pin!(serving);
    // The banner promises a working system: print it once both signers hold the key
    // jwks-service streams to them (over the gRPC server started just above).
    let ready = async {
        for mut keys in key_rings {
            let _ = keys.wait_for(|ring| ring.signer().is_some()).await;
        }
    };
    tokio::select! {
        result = &mut serving => return result,
        outcome = tokio::time::timeout(READY_LIMIT, ready) => {
            outcome.map_err(|_| DevError::NotReady(READY_LIMIT))?;
        }
    }
    println!("{banner}");
    serving.await
}

fn banner(system: &DevSystem, redis_url: Option<&str>) -> String {
    let store = match redis_url {
        Some(url) => format!("redis at {url}"),
        None => "in-memory (everything is lost on exit)".to_owned(),
    };
    let issuer = &system.issuer;
    [
        "agentauth dev is running".to_owned(),
        format!("  http:      http://{}", system.http_addr()),
        format!("  grpc:      http://{} (internal: agentctl, service-to-service)", system.grpc_addr()),
        format!("  store:     {store}"),
        format!("  tls:       {} (internal mTLS; agentctl reads its certificate here)", system.tls_dir.display()),
        match system.identity.outbox_dir() {
            Some(dir) => format!("  outbox:    {} (claim mails, one .eml each)", dir.display()),
            None => "  outbox:    none (mail goes out over SMTP)".to_owned(),
        },
        format!("  discovery: {issuer}/.well-known/oauth-authorization-server"),
        "register an agent:".to_owned(),
        format!(
            "  curl -s -X POST {issuer}/agent/identity -H 'Content-Type: application/json' -d '{{\"type\":\"anonymous\"}}'"
        ),
    ]
    .join("\n")
}
