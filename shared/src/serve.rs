//! Runs one replica's HTTP and gRPC servers until a shutdown future resolves, then drains
//! on the [`ShutdownSettings`] schedule: readiness goes 503 while the replica keeps
//! serving for the drain delay, then both servers stop accepting and finish what is in
//! flight within the grace period.

use std::future::Future;
use std::net::TcpListener;

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use tokio::sync::oneshot;
use tonic::service::Routes;

use crate::grpc::{self, ServeError};
use crate::health::{self, HealthProbe};
use crate::shutdown::{Draining, ShutdownSettings};
use crate::telemetry::http::ClientAddress;

/// The listeners of a replica, bound before anything runs (port 0 works).
#[derive(Debug)]
pub struct Listeners {
    pub http: TcpListener,
    pub grpc: TcpListener,
    /// `/metrics`, internal; `None` serves no metrics endpoint.
    pub metrics: Option<TcpListener>,
}

/// What a process serves: routes, gRPC services, readiness, and how it learns client
/// addresses.
pub struct Replica<F> {
    pub configure: F,
    pub routes: Routes,
    pub grpc_tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    pub probe: HealthProbe,
    pub client_address: ClientAddress,
}

impl<F> std::fmt::Debug for Replica<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica")
            .field("probe", &self.probe)
            .finish_non_exhaustive()
    }
}

pub async fn run<F>(
    listeners: Listeners,
    replica: Replica<F>,
    (draining, schedule): (Draining, ShutdownSettings),
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError>
where
    F: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
{
    let Replica {
        configure,
        routes,
        grpc_tls,
        probe,
        client_address,
    } = replica;
    let metrics = match listeners.metrics {
        Some(listener) => Some(metrics_server(listener, probe.clone())?),
        None => None,
    };
    let http = HttpServer::new(move || {
        let probe = probe.clone();
        App::new()
            .wrap(from_fn(move |request, next| {
                crate::telemetry::http::observe(client_address, request, next)
            }))
            .configure(|cfg| health::configure(cfg, probe))
            .configure(configure.clone())
    })
    .disable_signals()
    .shutdown_timeout(schedule.grace.as_secs())
    .listen(listeners.http)?
    .run();
    let http_handle = http.handle();
    let (stop_grpc, grpc_stopped) = oneshot::channel::<()>();
    let mut grpc_task = tokio::spawn(grpc::serve(listeners.grpc, routes, grpc_tls, async {
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

/// What a service contributes to a process: HTTP routes, gRPC services and readiness
/// checks. A standalone replica mounts one; the all-in-one runner mounts all three.
pub trait Mountable {
    fn configure(&self) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static;
    /// Adds the gRPC services; long-lived streams must end once `draining` is stopping.
    fn add_grpc(&self, routes: &mut tonic::service::RoutesBuilder, draining: &Draining);
    fn readiness_checks(&self) -> Vec<std::sync::Arc<dyn crate::health::ReadinessCheck>>;
    /// The gRPC server's mutual-TLS config; `None` serves plaintext (development only).
    fn grpc_tls(&self) -> Option<std::sync::Arc<rustls::ServerConfig>>;
    /// Whether client addresses come from `X-Forwarded-For` (for audit lines).
    fn client_address(&self) -> ClientAddress {
        ClientAddress::default()
    }
}

impl Listeners {
    /// Binds the listeners before anything else runs, so a bad address fails fast.
    pub fn bind(
        http: &crate::settings::ListenSettings,
        grpc: &crate::settings::ListenSettings,
        metrics: Option<&crate::settings::ListenSettings>,
    ) -> Result<Self, BindError> {
        let bind = |what: &'static str, listen: &crate::settings::ListenSettings| {
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
    Settings(#[from] crate::settings::SettingsError),
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

/// One service on its own listeners, run until `shutdown` resolves.
pub async fn run_replica<S: Mountable>(
    listeners: Listeners,
    service: &S,
    schedule: ShutdownSettings,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let draining = Draining::default();
    let probe = HealthProbe::new(draining.clone()).with_checks(service.readiness_checks());
    let mut routes = tonic::service::RoutesBuilder::default();
    service.add_grpc(&mut routes, &draining);
    let replica = Replica {
        configure: service.configure(),
        routes: routes.routes(),
        grpc_tls: service.grpc_tls(),
        probe,
        client_address: service.client_address(),
    };
    run(listeners, replica, (draining, schedule), shutdown).await
}

/// A service that can run as a standalone replica.
pub trait Service: Mountable + Sized + Send {
    type Settings: Send;
    /// The HTTP and gRPC listen addresses in its settings.
    fn listen(settings: &Self::Settings) -> (&crate::settings::ListenSettings, &crate::settings::ListenSettings);
    /// Its drain schedule.
    fn shutdown(settings: &Self::Settings) -> ShutdownSettings;
    /// Where it serves `/metrics`.
    fn metrics(settings: &Self::Settings) -> &crate::settings::ListenSettings;
    /// Validates settings and builds the service (no port bound yet).
    fn build(settings: &Self::Settings) -> impl Future<Output = Result<Self, StartupError>> + Send;
}

/// A standalone replica: one service on its own HTTP and gRPC listeners.
#[derive(Debug)]
pub struct Application<S> {
    listeners: Listeners,
    service: S,
    schedule: ShutdownSettings,
}

impl<S: Service> Application<S> {
    /// Validates settings and builds the service, then binds both listeners (port 0
    /// picks free ports).
    pub async fn build(settings: S::Settings) -> Result<Self, StartupError> {
        let service = S::build(&settings).await?;
        let (http, grpc) = S::listen(&settings);
        let listeners = Listeners::bind(http, grpc, Some(S::metrics(&settings)))?;
        Ok(Self {
            listeners,
            service,
            schedule: S::shutdown(&settings),
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
        run_replica(self.listeners, &self.service, self.schedule, shutdown).await
    }
}
