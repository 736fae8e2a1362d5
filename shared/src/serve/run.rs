//! Serving a process's [`Parts`] until shutdown, then the bounded drain.

use std::future::Future;
use std::net::TcpListener;
use std::sync::Arc;

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use tokio::sync::oneshot;
use tonic::service::RoutesBuilder;

use super::{Listeners, Parts};
use crate::grpc::{self, ServeError};
use crate::health::{self, HealthProbe};
use crate::shutdown::{Draining, ShutdownSettings};

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
    grpc.into_iter().for_each(|add| add(&mut builder, &draining));
    let metrics = listeners.metrics.map(|l| metrics_server(l, probe.clone()));
    let metrics = metrics.transpose()?;
    let http = http_server(listeners.http, routes, probe, client_address, schedule.grace)?;
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
    let (drain_delay_ms, grace_secs) = (schedule.drain_delay.as_millis() as u64, schedule.grace.as_secs());
    tracing::info!(drain_delay_ms, grace_secs, "draining: unready, still serving");
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

/// The public HTTP server: every route, behind the request telemetry, beside health.
fn http_server(
    listener: TcpListener,
    routes: Vec<super::parts::Configure>,
    probe: HealthProbe,
    client_address: crate::client_address::ClientAddressSettings,
    grace: std::time::Duration,
) -> std::io::Result<actix_web::dev::Server> {
    Ok(HttpServer::new(move || {
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
    .shutdown_timeout(grace.as_secs())
    .listen(listener)?
    .run())
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
