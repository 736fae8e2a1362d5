//! gRPC plumbing: client channels with bounded timeouts, every replica of a peer
//! ([`Replicas`]), and serving with health and a shutdown future.

mod replicas;

pub use replicas::{EndpointTemplate, Replicas, Resolve};

use std::future::Future;
use std::net::TcpListener;
use std::time::Duration;

use std::sync::Arc;

use tokio_rustls::server::TlsStream;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::service::Routes;
use tonic::transport::{Channel, Endpoint, Server};

use crate::settings::{PeerSettings, SettingsError};
use crate::tls::InternalTls;

/// A channel for unary calls: connects lazily, every call bounded by the peer's timeout.
pub fn unary_channel(peer: &PeerSettings, key: &str, tls: Option<&InternalTls>) -> Result<Channel, SettingsError> {
    Ok(endpoint(peer, key, tls)?.timeout(peer.request_timeout).connect_lazy())
}

/// Every replica of `peer` (its URL's host re-resolved every `peer.resolve_interval`),
/// for unary calls (`streaming: false`, each bounded by the request timeout) or for
/// long-lived streams (keep-alive pings instead).
pub fn replicas(
    peer: &PeerSettings,
    key: &str,
    tls: Option<&InternalTls>,
    streaming: bool,
) -> Result<Replicas, SettingsError> {
    peer.validate(key)?;
    let uri = peer
        .url
        .parse::<tonic::transport::Uri>()
        .map_err(|e| SettingsError::invalid(format!("{key}.url"), e.to_string()))?;
    let host = uri
        .host()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") { 443 } else { 80 });
    let server_name = peer.server_name.clone().unwrap_or_else(|| host.to_owned());
    let template = EndpointTemplate {
        tls: tls.map(|tls| tls.client_config(&server_name)),
        connect_timeout: peer.connect_timeout,
        request_timeout: (!streaming).then_some(peer.request_timeout),
        keep_alive: streaming,
    };
    let target = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    Ok(Replicas::spawn(target, template, peer.resolve_interval))
}

/// The peer's endpoint; over mutual TLS (https, the expected server name) when `tls`.
fn endpoint(peer: &PeerSettings, key: &str, tls: Option<&InternalTls>) -> Result<Endpoint, SettingsError> {
    peer.validate(key)?;
    let bad = |e: &dyn std::fmt::Display| SettingsError::invalid(format!("{key}.url"), e.to_string());
    let url = match tls {
        Some(_) => peer.url.replacen("http://", "https://", 1),
        None => peer.url.clone(),
    };
    let mut endpoint = Endpoint::from_shared(url.clone()).map_err(|e| bad(&e))?;
    if let Some(tls) = tls {
        let host = url
            .parse::<tonic::transport::Uri>()
            .ok()
            .and_then(|u| u.host().map(str::to_owned));
        let server_name = peer.server_name.clone().or(host).unwrap_or_default();
        endpoint = endpoint
            .tls_config(tls.client_config(&server_name))
            .map_err(|e| bad(&e))?;
    }
    Ok(endpoint.connect_timeout(peer.connect_timeout).tcp_nodelay(true))
}

/// Runs an idempotent call on one replica of a peer, and once more on another if the
/// first could not answer (see [`another_replica_may_answer`]). `peer` names the peer
/// in the error when none has been resolved yet.
pub async fn call_idempotent<T, F, Fut>(
    replicas: &Replicas,
    (peer, method): (&'static str, &'static str),
    call: F,
) -> Result<T, tonic::Status>
where
    F: Fn(Channel) -> Fut,
    Fut: Future<Output = Result<T, tonic::Status>>,
{
    let attempt = |channel| crate::telemetry::grpc::client_call(method, call(channel));
    let none = || tonic::Status::unavailable(format!("no {peer} replica resolved yet"));
    let (first, channel) = replicas.pick(None).ok_or_else(none)?;
    let status = match attempt(channel).await {
        Err(status) if another_replica_may_answer(&status) => status,
        answered => return answered,
    };
    replicas.set_aside(first);
    let Some((second, channel)) = replicas.pick(Some(first)).filter(|(addr, _)| *addr != first) else {
        return Err(status);
    };
    tracing::debug!(%first, %second, code = ?status.code(), peer, "replica failed, retrying on another");
    attempt(channel).await
}

/// Runs a call that must not be repeated (it changes state) on one replica, once.
pub async fn call_once<T, F, Fut>(
    replicas: &Replicas,
    (peer, method): (&'static str, &'static str),
    call: F,
) -> Result<T, tonic::Status>
where
    F: FnOnce(Channel) -> Fut,
    Fut: Future<Output = Result<T, tonic::Status>>,
{
    let none = || tonic::Status::unavailable(format!("no {peer} replica resolved yet"));
    let (_, channel) = replicas.pick(None).ok_or_else(none)?;
    crate::telemetry::grpc::client_call(method, call(channel)).await
}

/// The replica, not the request, failed: it is gone, restarting or cut off. A timeout is
/// not retried (it would double the wait), nor is any answer about the request itself.
pub fn another_replica_may_answer(status: &tonic::Status) -> bool {
    use tonic::Code;
    matches!(
        status.code(),
        Code::Unavailable | Code::Unknown | Code::Cancelled | Code::Aborted
    ) || (status.code() == Code::Internal && status.message().contains("h2 protocol error"))
}

pub type ServeError = Box<dyn std::error::Error + Send + Sync>;

/// How long a client may take to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `routes` plus `grpc.health.v1` on `listener` until `shutdown` resolves; over
/// mutual TLS when `tls` is given (see [`crate::tls`]).
pub async fn serve(
    listener: TcpListener,
    routes: Routes,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let (_reporter, health) = tonic_health::server::health_reporter();
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let server = Server::builder()
        .layer(crate::telemetry::grpc::ObserveLayer)
        .add_routes(routes)
        .add_service(health);
    match tls {
        None => {
            let incoming = TcpListenerStream::new(listener).map(|accepted| {
                accepted.inspect(|tcp| {
                    let _ = tcp.set_nodelay(true);
                })
            });
            server.serve_with_incoming_shutdown(incoming, shutdown).await?
        }
        Some(config) => {
            server
                .serve_with_incoming_shutdown(tls_incoming(listener, config), shutdown)
                .await?
        }
    }
    Ok(())
}

/// Accepted connections whose TLS handshake succeeded; handshakes run concurrently and
/// failures (no certificate, wrong CA, wrong service) are dropped and logged.
fn tls_incoming(
    listener: tokio::net::TcpListener,
    config: Arc<rustls::ServerConfig>,
) -> ReceiverStream<Result<TlsStream<tokio::net::TcpStream>, std::io::Error>> {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let (tcp, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "grpc accept failed");
                    continue;
                }
            };
            if tx.is_closed() {
                break;
            }
            // Small frames (a unary answer) go out at once, never held back by Nagle's
            // algorithm waiting for the client's delayed ACK.
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::debug!(%peer, %error, "cannot disable Nagle on a grpc connection");
            }
            let (acceptor, accepted) = (acceptor.clone(), tx.clone());
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let _ = accepted.send(Ok(stream)).await;
                    }
                    Ok(Err(error)) => tracing::warn!(%peer, %error, "internal tls handshake refused"),
                    Err(_) => tracing::warn!(%peer, "internal tls handshake timed out"),
                }
            });
        }
    });
    ReceiverStream::new(rx)
}
