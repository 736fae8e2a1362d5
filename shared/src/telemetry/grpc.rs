//! Trace context and metrics across internal gRPC: a client span per call whose context
//! the [`propagate`] interceptor injects into the request metadata, and a server layer
//! ([`ObserveLayer`]) that extracts it, opens the server span every handler runs in,
//! times the call and audits operator commands.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use opentelemetry::propagation::{Extractor, Injector};
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::metrics::{GRPC_CLIENT_DURATION, GRPC_SERVER_DURATION};

/// Client interceptor: the current span's W3C trace context into the request metadata.
#[allow(clippy::result_large_err)]
pub fn propagate(mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
    let context = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&context, &mut Metadata(request.metadata_mut()))
    });
    Ok(request)
}

/// Runs one client call (`method`: `Service/Method`) in a client span, timed.
pub async fn client_call<T, F>(method: &'static str, call: F) -> Result<T, tonic::Status>
where
    F: Future<Output = Result<T, tonic::Status>>,
{
    let (service, name) = method.split_once('/').unwrap_or(("", method));
    let span = tracing::info_span!(
        "gRPC call",
        otel.name = method,
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
        rpc.system = "grpc",
        rpc.service = service,
        rpc.method = name,
        rpc.grpc.status_code = tracing::field::Empty,
    );
    let started = Instant::now();
    let result = call.instrument(span.clone()).await;
    let code = match &result {
        Ok(_) => tonic::Code::Ok,
        Err(status) => status.code(),
    };
    span.record("rpc.grpc.status_code", code as i32);
    if code != tonic::Code::Ok {
        span.record("otel.status_code", "ERROR");
    }
    metrics::histogram!(GRPC_CLIENT_DURATION, "method" => method, "code" => code_name(code))
        .record(started.elapsed().as_secs_f64());
    result
}

/// The server side, for `Server::builder().layer(ObserveLayer)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ObserveLayer;

impl<S> tower::Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe { inner }
    }
}

#[derive(Debug, Clone)]
pub struct Observe<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, R> tower::Service<http::Request<B>> for Observe<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // The clone is ready only if polled; swap so the ready one serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let path = request.uri().path().to_owned();
        let (service, method) = path.trim_start_matches('/').split_once('/').unwrap_or(("", ""));
        let (service, method) = (service.to_owned(), method.to_owned());
        let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(&Headers(request.headers())));
        let span = tracing::info_span!(
            "gRPC request",
            otel.name = %path.trim_start_matches('/'),
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            rpc.grpc.status_code = tracing::field::Empty,
        );
        let _ = span.set_parent(parent);
        let ip = request
            .extensions()
            .get::<tonic::transport::server::TcpConnectInfo>()
            .and_then(|info| info.remote_addr())
            .map_or_else(|| "-".to_owned(), |addr| addr.ip().to_string());
        Box::pin(async move {
            let started = Instant::now();
            let call = inner.call(request).instrument(span.clone());
            let result = crate::audit::serving(ip, call).await;
            // A failed unary call answers trailers-only: its status is in the headers.
            let code = match &result {
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                    .map_or(tonic::Code::Ok, tonic::Code::from_i32),
                Err(_) => tonic::Code::Unavailable,
            };
            span.record("rpc.grpc.status_code", code as i32);
            if code != tonic::Code::Ok {
                span.record("otel.status_code", "ERROR");
            }
            let full = format!("{service}/{method}");
            if service.ends_with("Admin") {
                let _entered = span.enter();
                crate::audit::record(
                    "operator_command",
                    crate::audit::Actor::Operator,
                    &full,
                    code_name(code),
                );
            }
            metrics::histogram!(GRPC_SERVER_DURATION, "method" => bounded_method(&full), "code" => code_name(code))
                .record(started.elapsed().as_secs_f64());
            result
        })
    }
}

/// Our services' methods are a fixed set; anything else is one label value.
fn bounded_method(full: &str) -> String {
    let ours = full.starts_with("agentauth.") || full.starts_with("grpc.health.");
    if ours && full.len() < 120 {
        full.to_owned()
    } else {
        "other".into()
    }
}

pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

struct Metadata<'a>(&'a mut MetadataMap);

impl Injector for Metadata<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (MetadataKey::from_bytes(key.as_bytes()), MetadataValue::try_from(value)) {
            self.0.insert(key, value);
        }
    }
}

struct Headers<'a>(&'a http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}
