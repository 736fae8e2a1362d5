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
//!
//! - `common`: [`CommonSettings`], flattened into every service's settings.
//! - `main`: [`main`], a service's whole process: settings, telemetry, serve, drain.
//! - `parts`: [`Parts`], what a service contributes.
//! - `run`: [`run`], serving and draining.
//! - `listeners`: [`Listeners`], bound before anything runs.

mod common;
mod listeners;
mod main;
mod parts;
mod run;

use std::future::Future;
use std::sync::Arc;

use crate::grpc::ServeError;
use crate::settings::{ServiceSettings, SettingsError, Validated};
use crate::shutdown::ShutdownSettings;
use crate::store::Connections;
use crate::tls::InternalTls;

pub use common::CommonSettings;
pub use listeners::{BindError, Listeners};
pub use main::{MainError, main};
pub use parts::Parts;
pub use run::run;

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

/// What the process hands a service it builds: its internal TLS identity (read once)
/// and the process's Redis connections (one per Redis, shared by every service).
#[derive(Debug)]
pub struct Context {
    pub tls: Option<InternalTls>,
    pub connections: Connections,
}

impl Context {
    /// Reads the internal TLS identity of service `name`, once.
    pub fn load(common: &CommonSettings, name: &str, connections: Connections) -> Result<Self, SettingsError> {
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
    pub fn grpc_tls(&self, common: &CommonSettings) -> Result<Option<Arc<rustls::ServerConfig>>, SettingsError> {
        common.internal_tls.server_config(self.tls.as_ref())
    }
}

/// One way to assemble a service: from settings validated once and the process's
/// [`Context`], a handle (for whoever runs it) and the [`Parts`] it serves.
pub trait Service: Sized + Send {
    type Settings: ServiceSettings + Send + Sync;
    /// The name its internal certificate is issued to.
    const NAME: &'static str;
    fn common(settings: &Self::Settings) -> &CommonSettings;
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
        let listeners = Listeners::bind(&common.http, &common.grpc, Some(&common.metrics.listen))?;
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
