//! gRPC plumbing: client channels with bounded timeouts, and serving with health and a
//! shutdown future.

use std::future::Future;
use std::net::TcpListener;
use std::time::Duration;

use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::Routes;
use tonic::transport::{Channel, Endpoint, Server};

use crate::settings::{PeerSettings, SettingsError};

/// A channel for unary calls: connects lazily, every call bounded by the peer's timeout.
pub fn unary_channel(peer: &PeerSettings, key: &str) -> Result<Channel, SettingsError> {
    Ok(endpoint(peer, key)?.timeout(peer.request_timeout).connect_lazy())
}

/// A channel for long-lived streams: no per-call timeout, keep-alive pings detect a dead
/// peer instead.
pub fn streaming_channel(peer: &PeerSettings, key: &str) -> Result<Channel, SettingsError> {
    Ok(endpoint(peer, key)?
        .http2_keep_alive_interval(Duration::from_secs(10))
        .keep_alive_timeout(Duration::from_secs(5))
        .keep_alive_while_idle(true)
        .connect_lazy())
}

fn endpoint(peer: &PeerSettings, key: &str) -> Result<Endpoint, SettingsError> {
    peer.validate(key)?;
    let endpoint = Endpoint::from_shared(peer.url.clone())
        .map_err(|e| SettingsError::invalid(format!("{key}.url"), e.to_string()))?;
    Ok(endpoint.connect_timeout(peer.connect_timeout).tcp_nodelay(true))
}

pub type ServeError = Box<dyn std::error::Error + Send + Sync>;

/// Serves `routes` plus `grpc.health.v1` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    routes: Routes,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let (_reporter, health) = tonic_health::server::health_reporter();
    let incoming = TcpListenerStream::new(tokio::net::TcpListener::from_std(listener)?);
    Server::builder()
        .add_routes(routes)
        .add_service(health)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await?;
    Ok(())
}
