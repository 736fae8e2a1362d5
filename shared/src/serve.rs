//! The one way a service is assembled and served. A [`Service`] builds, from settings
//! validated once and the process's [`Context`] (its TLS identity, read once; its Redis
//! connections, one per Redis), the [`Parts`] it serves: routes, gRPC services,
//! readiness checks. [`Application`] serves one service on its own listeners; the
//! all-in-one runner merges several services' parts.
//!
//! [`run`] serves until a shutdown future resolves, then drains on the
//! [`ShutdownSettings`] schedule: readiness goes 503 while the replica keeps serving for
//! the drain delay, then both servers stop accepting and finish what is in flight within
//! the grace period.

use std::future::Future;
use std::net::TcpListener;
use std::sync::Arc;

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use tokio::sync::oneshot;
use tonic::service::RoutesBuilder;

use crate::grpc::{self, ServeError};
use crate::health::{self, HealthProbe, ReadinessCheck};
use crate::settings::{ListenSettings, ServiceSettings, SettingsError, Validated};
use crate::shutdown::{Draining, ShutdownSettings};
use crate::store::Connections;
use crate::telemetry::http::ClientAddress;
use crate::tls::{InternalTls, InternalTlsSettings};

/// The listeners of a replica, bound before anything runs (port 0 works).
#[derive(Debug)]
pub struct Listeners {
    pub http: TcpListener,
    pub grpc: TcpListener,
    /// `/metrics`, internal; `None` serves no metrics endpoint.
    pub metrics: Option<TcpListener>,
}

/// Mounts HTTP routes (once per worker).
type Configure = Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync>;
/// Adds gRPC services to the process's one gRPC server.
type AddGrpc = Box<dyn FnOnce(&mut RoutesBuilder, &Draining) + Send>;

/// What one service contributes to a process: HTTP routes, gRPC services, readiness
/// checks, how client addresses are learned, and whatever must live as long as it serves
/// (background tasks, key watchers). A standalone replica serves one service's parts;
/// the all-in-one runner merges all three.
#[derive(Default)]
pub struct Parts {
    routes: Vec<Configure>,
    grpc: Vec<AddGrpc>,
    readiness: Vec<Arc<dyn ReadinessCheck>>,
    client_address: ClientAddress,
    keep: Vec<Box<dyn Send + Sync>>,
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parts")
            .field("routes", &self.routes.len())
            .field("grpc", &self.grpc.len())
            .field(
                "readiness",
                &self.readiness.iter().map(|c| c.name()).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Parts {
    pub fn new() -> Self {
        Self::default()
    }

    /// HTTP routes, mounted on the process's one HTTP port.
    pub fn routes(mut self, configure: impl Fn(&mut web::ServiceConfig) + Send + Sync + 'static) -> Self {
        self.routes.push(Arc::new(configure));
        self
    }

    /// gRPC services; long-lived streams must end once `Draining` is stopping.
    pub fn grpc(mut self, add: impl FnOnce(&mut RoutesBuilder, &Draining) + Send + 'static) -> Self {
        self.grpc.push(Box::new(add));
        self
    }

    /// A check `/readyz` runs.
    pub fn ready(mut self, check: impl ReadinessCheck + 'static) -> Self {
        self.readiness.push(Arc::new(check));
        self
    }

    /// Whether client addresses come from `X-Forwarded-For` (for audit lines).
    pub fn client_address(mut self, client_address: ClientAddress) -> Self {
        self.client_address = client_address;
        self
    }

    /// Something that must live as long as the service serves (dropping it stops it).
    pub fn keep(mut self, alive: impl Send + Sync + 'static) -> Self {
        self.keep.push(Box::new(alive));
        self
    }

    /// Several services' parts served by one process; client addresses are learned as
    /// any of them asks (trusting `X-Forwarded-For` if one does).
    pub fn merge(all: impl IntoIterator<Item = Parts>) -> Self {
        all.into_iter().fold(Self::default(), |mut merged, parts| {
            merged.routes.extend(parts.routes);
            merged.grpc.extend(parts.grpc);
            merged.readiness.extend(parts.readiness);
            merged.keep.extend(parts.keep);
            merged.client_address.trust_forwarded_for |= parts.client_address.trust_forwarded_for;
            merged
        })
    }
}

/// Serves `parts` on `listeners` until `shutdown` resolves, then drains on `schedule`.
/// `grpc_tls` is the gRPC server's mutual-TLS config (`None`: plaintext, development).
pub async fn run(
    listeners: Listeners,
    parts: Parts,
    grpc_tls: Option<Arc<rustls::ServerConfig>>,
    schedule: ShutdownSettings,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let Parts {
        routes,
        grpc,
        readiness,
        client_address,
        keep,
    } = parts;
    let draining = Draining::default();
    let probe = HealthProbe::new(draining.clone()).with_checks(readiness);
    let mut builder = RoutesBuilder::default();
    for add in grpc {
        add(&mut builder, &draining);
    }
    let metrics = match listeners.metrics {
        Some(listener) => Some(metrics_server(listener, probe.clone())?),
        None => None,
    };
    let http = HttpServer::new(move || {
        let probe = probe.clone();
        let routes = routes.clone();
        App::new()
            .wrap(from_fn(move |request, next| {
                crate::telemetry::http::observe(client_address, request, next)
            }))
            .configure(|cfg| health::configure(cfg, probe))
            .configure(move |cfg| {
                for configure in &routes {
                    configure(cfg);
                }
            })
    })
    .disable_signals()
    .shutdown_timeout(schedule.grace.as_secs())
    .listen(listeners.http)?
    .run();
    let http_handle = http.handle();
    let (stop_grpc, grpc_stopped) = oneshot::channel::<()>();
    let mut grpc_task = tokio::spawn(grpc::serve(listeners.grpc, builder.routes(), grpc_tls, async {
        let _ = grpc_stopped.await;
    }));
    let mut http_task = tokio::spawn(http);

    tokio::select! {
        () = shutdown => {}
        result = &mut http_task => return Err(unexpected_exit("http", result.map_err(Into::into))),
        result = &mut grpc_task => return Err(unexpected_exit("grpc", result.map_err(Into::into).and_then(|r| r))),
    }
    draining.start();
    tracing::info!(
        drain_delay_ms = schedule.drain_delay.as_millis() as u64,
        grace_secs = schedule.grace.as_secs(),
        "draining: unready, still serving"
    );
    // Endpoints and load balancers take a moment to notice; until then traffic still
    // arrives and is served as usual.
    tokio::select! {
        () = tokio::time::sleep(schedule.drain_delay) => {}
        result = &mut http_task => return Err(unexpected_exit("http", result.map_err(Into::into))),
    }
    draining.stop();
    tracing::info!("stopping: no new connections, finishing in-flight work");
    let _ = stop_grpc.send(());
    http_handle.stop(true).await;
    if tokio::time::timeout(schedule.grace, grpc_task).await.is_err() {
        tracing::warn!("grpc server did not drain within the grace period");
    }
    let _ = http_task.await;
    if let Some((handle, task)) = metrics {
        handle.stop(false).await;
        let _ = task.await;
    }
    drop(keep);
    tracing::info!("stopped");
    Ok(())
}

/// `/metrics` on its own listener: one worker, readiness gauges refreshed per scrape.
fn metrics_server(
    listener: TcpListener,
    probe: HealthProbe,
) -> std::io::Result<(
    actix_web::dev::ServerHandle,
    tokio::task::JoinHandle<std::io::Result<()>>,
)> {
    let server = HttpServer::new(move || {
        let probe = probe.clone();
        App::new().route(
            "/metrics",
            web::get().to(move || {
                let probe = probe.clone();
                async move {
                    probe.record_metrics().await;
                    actix_web::HttpResponse::Ok()
                        .content_type("text/plain; version=0.0.4")
                        .body(crate::telemetry::metrics::render())
                }
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    let handle = server.handle();
    Ok((handle, tokio::spawn(server)))
}

fn unexpected_exit(server: &str, result: Result<impl std::fmt::Debug, ServeError>) -> ServeError {
    match result {
        Ok(_) => format!("{server} server stopped on its own").into(),
        Err(error) => format!("{server} server failed: {error}").into(),
    }
}

impl Listeners {
    /// Binds the listeners before anything else runs, so a bad address fails fast.
    pub fn bind(
        http: &ListenSettings,
        grpc: &ListenSettings,
        metrics: Option<&ListenSettings>,
    ) -> Result<Self, BindError> {
        let bind = |what: &'static str, listen: &ListenSettings| {
            listen.bind().map_err(|source| BindError {
                what,
                address: format!("{}:{}", listen.host, listen.port),
                source,
            })
        };
        Ok(Self {
            http: bind("http", http)?,
            grpc: bind("grpc", grpc)?,
            metrics: metrics.map(|m| bind("metrics", m)).transpose()?,
        })
    }

    #[allow(clippy::expect_used)]
    pub fn http_addr(&self) -> std::net::SocketAddr {
        self.http.local_addr().expect("a bound listener has an address")
    }

    #[allow(clippy::expect_used)]
    pub fn grpc_addr(&self) -> std::net::SocketAddr {
        self.grpc.local_addr().expect("a bound listener has an address")
    }
}

/// Why a service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Bind(#[from] BindError),
}

#[derive(Debug, thiserror::Error)]
#[error("cannot bind {what} listener on {address}: {source}")]
pub struct BindError {
    pub what: &'static str,
    pub address: String,
    pub source: std::io::Error,
}

/// The listen addresses and drain schedule every service's settings carry.
#[derive(Debug, Clone, Copy)]
pub struct Common<'a> {
    pub profile: crate::settings::Profile,
    pub http: &'a ListenSettings,
    pub grpc: &'a ListenSettings,
    pub metrics: &'a ListenSettings,
    pub shutdown: ShutdownSettings,
    pub internal_tls: &'a InternalTlsSettings,
}

/// What the process hands a service it builds: its internal TLS identity (read once)
/// and the process's Redis connections (one per Redis, shared by every service).
#[derive(Debug)]
pub struct Context {
    pub tls: Option<InternalTls>,
    pub connections: Connections,
}

impl Context {
    /// Reads the internal TLS identity of service `name`, once.
    pub fn load(common: Common<'_>, name: &str, connections: Connections) -> Result<Self, SettingsError> {
        Ok(Self {
            tls: common.internal_tls.load(name, common.profile)?,
            connections,
        })
    }

    /// Channels to a peer's replicas, over the internal mTLS when configured.
    pub fn peer(
        &self,
        peer: &crate::settings::PeerSettings,
        key: &str,
        streaming: bool,
    ) -> Result<crate::grpc::Replicas, SettingsError> {
        crate::grpc::replicas(peer, key, self.tls.as_ref(), streaming)
    }

    /// The gRPC server's mutual-TLS config, accepting `allowed` clients.
    pub fn grpc_tls(&self, common: Common<'_>) -> Result<Option<Arc<rustls::ServerConfig>>, SettingsError> {
        common.internal_tls.server_config(self.tls.as_ref())
    }
}

/// One way to assemble a service: from settings validated once and the process's
/// [`Context`], a handle (for whoever runs it) and the [`Parts`] it serves.
pub trait Service: Sized + Send {
    type Settings: ServiceSettings + Send + Sync;
    /// The name its internal certificate is issued to.
    const NAME: &'static str;
    fn common(settings: &Self::Settings) -> Common<'_>;
    /// Builds the service (no port bound yet).
    fn build(
        settings: &Validated<Self::Settings>,
        context: &Context,
    ) -> impl Future<Output = Result<(Self, Parts), StartupError>> + Send;
}

/// A standalone replica: one service on its own HTTP and gRPC listeners.
#[derive(Debug)]
pub struct Application<S> {
    listeners: Listeners,
    service: S,
    parts: Parts,
    grpc_tls: Option<Arc<rustls::ServerConfig>>,
    schedule: ShutdownSettings,
}

impl<S: Service> Application<S> {
    /// Validates `settings`, then [`Self::start`]s.
    pub async fn build(settings: S::Settings) -> Result<Self, StartupError> {
        Self::start(Validated::new(settings)?).await
    }

    /// Builds the service, then binds its listeners (port 0 picks free ports).
    pub async fn start(settings: Validated<S::Settings>) -> Result<Self, StartupError> {
        let common = S::common(&settings);
        let context = Context::load(common, S::NAME, Connections::default())?;
        let grpc_tls = context.grpc_tls(common)?;
        let (service, parts) = S::build(&settings, &context).await?;
        let listeners = Listeners::bind(common.http, common.grpc, Some(common.metrics))?;
        Ok(Self {
            listeners,
            service,
            parts,
            grpc_tls,
            schedule: common.shutdown,
        })
    }

    pub fn http_addr(&self) -> std::net::SocketAddr {
        self.listeners.http_addr()
    }

    pub fn grpc_addr(&self) -> std::net::SocketAddr {
        self.listeners.grpc_addr()
    }

    /// Where `/metrics` is served.
    #[allow(clippy::expect_used)]
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.listeners
            .metrics
            .as_ref()
            .map(|l| l.local_addr().expect("a bound listener has an address"))
    }

    pub fn service(&self) -> &S {
        &self.service
    }

    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Result<(), ServeError> {
        run(self.listeners, self.parts, self.grpc_tls, self.schedule, shutdown).await
    }
}
