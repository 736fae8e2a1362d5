//! [`Parts`]: what one service contributes to the process that serves it.

use std::sync::Arc;

use actix_web::web;
use tonic::service::RoutesBuilder;

use crate::client_address::ClientAddressSettings;
use crate::health::ReadinessCheck;
use crate::shutdown::Draining;

/// Mounts HTTP routes (once per worker).
pub(super) type Configure = Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync>;
/// Adds gRPC services to the process's one gRPC server.
type AddGrpc = Box<dyn FnOnce(&mut RoutesBuilder, &Draining) + Send>;

/// What one service contributes to a process: HTTP routes, gRPC services, readiness
/// checks, how client addresses are learned, and whatever must live as long as it serves
/// (background tasks, key watchers). A standalone replica serves one service's parts;
/// the all-in-one runner merges all three.
#[derive(Default)]
pub struct Parts {
    pub(super) routes: Vec<Configure>,
    pub(super) grpc: Vec<AddGrpc>,
    pub(super) readiness: Vec<Arc<dyn ReadinessCheck>>,
    pub(super) client_address: ClientAddressSettings,
    pub(super) keep: Vec<Box<dyn Send + Sync>>,
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

    /// How client addresses are learned (rate limits, audit lines).
    pub fn client_address(mut self, client_address: ClientAddressSettings) -> Self {
        self.client_address = client_address;
        self
    }

    /// Something that must live as long as the service serves (dropping it stops it).
    pub fn keep(mut self, alive: impl Send + Sync + 'static) -> Self {
        self.keep.push(Box::new(alive));
        self
    }

    /// Several services' parts served by one process; client addresses are learned as
    /// the first service that sets a rule asks (the all-in-one gives all the same one).
    pub fn merge(all: impl IntoIterator<Item = Parts>) -> Self {
        all.into_iter().fold(Self::default(), |mut merged, parts| {
            merged.routes.extend(parts.routes);
            merged.grpc.extend(parts.grpc);
            merged.readiness.extend(parts.readiness);
            merged.keep.extend(parts.keep);
            if merged.client_address == ClientAddressSettings::default() {
                merged.client_address = parts.client_address;
            }
            merged
        })
    }
}
