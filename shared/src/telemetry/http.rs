//! One server span and one duration sample per HTTP request, the W3C trace context taken
//! from the ingress (`traceparent`, `tracestate`), and the request's client address kept
//! for the audit stream. Health probes are neither traced nor timed.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::HeaderMap;
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage as _};
use opentelemetry::propagation::Extractor;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::metrics::HTTP_REQUEST_DURATION;
use crate::audit::{self, RequestContext};
use crate::client_address::{ClientAddressSettings, ClientIp};

const PROBES: [&str; 2] = ["/healthz", "/readyz"];

/// The middleware: `App::new().wrap(from_fn(move |req, next| observe(address, req, next)))`.
pub async fn observe<B: MessageBody>(
    address: ClientAddressSettings,
    request: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, Error> {
    if PROBES.contains(&request.path()) {
        return next.call(request).await;
    }
    // Resolved once, here: the rate limits and the audit stream read this one answer.
    let ip = address.resolve(request.peer_addr(), request.headers());
    request.extensions_mut().insert(ClientIp(ip.clone()));
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(&Headers(request.headers())));
    // The template (`/oauth2/token`), never the path: bounded, and no id in it.
    let route = request
        .resource_map()
        .match_pattern(request.path())
        .unwrap_or_else(|| "unmatched".into());
    let span = tracing::info_span!(
        "HTTP request",
        otel.name = %format!("{method} {route}"),
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        http.request.method = %method,
        http.route = %route,
        http.response.status_code = tracing::field::Empty,
    );
    let _ = span.set_parent(parent);
    let context = RequestContext { ip };
    let result = audit::REQUEST
        .scope(context, next.call(request).instrument(span.clone()))
        .await;
    let status = match &result {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    metrics::histogram!(
        HTTP_REQUEST_DURATION,
        "route" => route,
        "method" => method,
        "status" => status.as_str().to_owned()
    )
    .record(started.elapsed().as_secs_f64());
    result
}

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}
