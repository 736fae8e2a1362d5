//! Telemetry of one process: logs, traces, metrics.
//!
//! - Logs: JSON lines (production) or human-readable text (`agentctl dev`), written by a
//!   non-blocking writer so no worker ever waits on stdout. A line emitted inside a
//!   request carries its `trace_id` and `span_id`. `RUST_LOG` filters (default `info`).
//! - Traces: OpenTelemetry through `tracing`, exported over OTLP/gRPC when
//!   `telemetry.otlp_endpoint` (or the standard `OTEL_EXPORTER_OTLP_ENDPOINT`) is set,
//!   parent-based sampling at `telemetry.sample_ratio`. W3C trace context crosses every
//!   hop: [`http`] for requests, [`grpc`] for internal calls.
//! - Metrics: the `metrics` facade, rendered by the Prometheus exporter on a listener of
//!   its own ([`metrics`]).
//!
//! [`init`] returns a [`Telemetry`] guard; [`Telemetry::shutdown`] flushes spans and logs.

mod logs;

pub mod grpc;
pub mod http;
pub mod metrics;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use serde::{Deserialize, Serialize};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// How a service reports on itself (`telemetry.*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TelemetrySettings {
    /// OTLP/gRPC collector, e.g. `http://otel-collector:4317`; unset: no trace export.
    #[serde(default)]
    pub otlp_endpoint: Option<String>,
    /// Share of new traces kept (0.0–1.0); a trace the caller sampled is always kept.
    pub sample_ratio: f64,
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Text,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            sample_ratio: 0.1,
            log_format: LogFormat::Json,
        }
    }
}

impl TelemetrySettings {
    /// The standard `OTEL_EXPORTER_OTLP_ENDPOINT` turns export on too (read by `main`).
    pub fn with_standard_endpoint(mut self, otel_exporter_otlp_endpoint: Option<String>) -> Self {
        if self.otlp_endpoint.is_none() {
            self.otlp_endpoint = otel_exporter_otlp_endpoint.filter(|e| !e.is_empty());
        }
        self
    }

    pub fn validate(&self) -> Result<(), crate::settings::SettingsError> {
        if !(0.0..=1.0).contains(&self.sample_ratio) {
            return Err(crate::settings::SettingsError::invalid(
                "telemetry.sample_ratio",
                "must be between 0.0 and 1.0",
            ));
        }
        if let Some(endpoint) = &self.otlp_endpoint
            && endpoint
                .parse::<tonic::transport::Uri>()
                .map_or(true, |u| u.host().is_none())
        {
            return Err(crate::settings::SettingsError::invalid(
                "telemetry.otlp_endpoint",
                "must be an absolute URL such as http://otel-collector:4317",
            ));
        }
        Ok(())
    }
}

/// Lines the log writer thread gathers before one write (it flushes sooner whenever
/// no line is waiting).
const LINE_BATCH: usize = 64 * 1024;

type LineBatch<W> = std::io::BufWriter<W>;

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Stdout,
    /// A CLI keeps stdout for its own output.
    Stderr,
}

/// The process's telemetry; flush it with [`Telemetry::shutdown`] before exiting.
#[derive(Debug)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
    _logs: tracing_appender::non_blocking::WorkerGuard,
}

impl Telemetry {
    /// Exports what is buffered (bounded by the exporter's timeout) and flushes logs.
    pub async fn shutdown(self) {
        if let Some(provider) = self.provider {
            // The provider's shutdown blocks (BUILD-NOTES): keep it off the runtime.
            let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        }
    }
}

/// Installs logging and tracing for `service` (later calls in one process are no-ops,
/// as in tests that run several services in one process).
pub fn init(service: &'static str, settings: &TelemetrySettings, output: Output) -> Telemetry {
    // A worker never waits for stdout while the buffer has room; when it is full (a
    // stalled log pipe), lines wait rather than vanish: audit lines must not be lost.
    // The writer thread drains every line waiting, then flushes: under load, one write
    // carries many lines instead of one system call each.
    let non_blocking = || tracing_appender::non_blocking::NonBlockingBuilder::default().lossy(false);
    let (writer, guard) = match output {
        Output::Stdout => non_blocking().finish(LineBatch::with_capacity(LINE_BATCH, std::io::stdout())),
        Output::Stderr => non_blocking().finish(LineBatch::with_capacity(LINE_BATCH, std::io::stderr())),
    };
    let provider = tracer_provider(service, settings);
    let tracer = provider.tracer(service);
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let format = match settings.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .fmt_fields(logs::NoSpanFields)
            .event_format(logs::JsonLines)
            .with_writer(writer)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .fmt_fields(logs::NoSpanFields)
            .event_format(logs::TextLines)
            .with_writer(writer)
            .boxed(),
    };
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_location(false)
                .with_threads(false)
                .with_target(false)
                .with_tracked_inactivity(false),
        )
        .with(format)
        .try_init()
        .is_ok();
    if installed {
        opentelemetry::global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
        tracing::info!(
            service,
            version = env!("CARGO_PKG_VERSION"),
            trace_export = settings.otlp_endpoint.is_some(),
            "telemetry ready"
        );
    }
    metrics::describe_build(service);
    Telemetry {
        provider: (installed && settings.otlp_endpoint.is_some()).then_some(provider),
        _logs: guard,
    }
}

/// Always a provider, so every request has trace and span ids for its log lines; spans
/// are recorded and exported only when an endpoint is configured.
fn tracer_provider(service: &'static str, settings: &TelemetrySettings) -> SdkTracerProvider {
    let resource = opentelemetry_sdk::Resource::builder_empty()
        .with_service_name(service)
        .with_attributes([
            opentelemetry::KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
            opentelemetry::KeyValue::new("service.instance.id", instance_id()),
        ])
        .build();
    let builder = SdkTracerProvider::builder().with_resource(resource);
    let Some(endpoint) = &settings.otlp_endpoint else {
        return builder.with_sampler(Sampler::AlwaysOff).build();
    };
    let sampler = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(settings.sample_ratio)));
    match opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint.clone())
        .with_timeout(std::time::Duration::from_secs(5))
        .build()
    {
        Ok(exporter) => builder.with_sampler(sampler).with_batch_exporter(exporter).build(),
        Err(error) => {
            eprintln!("{service}: trace export disabled, the OTLP exporter cannot be built: {error}");
            builder.with_sampler(Sampler::AlwaysOff).build()
        }
    }
}

/// This process among the replicas: host name and pid.
fn instance_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    format!("{}-{}", host.trim(), std::process::id())
}

use tracing_subscriber::Layer as _;
