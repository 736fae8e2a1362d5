//! [`CommonSettings`]: the settings every service carries, flattened into each service's
//! own (the same top-level keys in every ConfigMap and `AGENTAUTH__…` variable).

use serde::{Deserialize, Serialize};

use crate::settings::{ListenSettings, Profile, StoreSettings};
use crate::shutdown::ShutdownSettings;
use crate::telemetry::TelemetrySettings;
use crate::telemetry::metrics::MetricsSettings;
use crate::tls::InternalTlsSettings;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommonSettings {
    pub profile: Profile,
    /// The public port (through the ingress).
    pub http: ListenSettings,
    /// The internal gRPC port.
    pub grpc: ListenSettings,
    pub store: StoreSettings,
    /// Mutual TLS on the internal gRPC port and towards peers (required in production).
    pub internal_tls: InternalTlsSettings,
    /// The drain schedule on SIGTERM.
    #[serde(default)]
    pub shutdown: ShutdownSettings,
    /// Logs and trace export.
    #[serde(default)]
    pub telemetry: TelemetrySettings,
    /// Where `/metrics` is served (internal; never through the ingress).
    #[serde(default)]
    pub metrics: MetricsSettings,
}

impl CommonSettings {
    /// The production defaults, accepting `internal_clients` on the gRPC port.
    pub fn allowing(internal_clients: &[&str]) -> Self {
        Self {
            profile: Profile::Production,
            http: ListenSettings::new("0.0.0.0", 8080),
            grpc: ListenSettings::new("0.0.0.0", 50051),
            store: StoreSettings::default(),
            internal_tls: InternalTlsSettings::allowing(internal_clients),
            shutdown: ShutdownSettings::default(),
            telemetry: TelemetrySettings::default(),
            metrics: MetricsSettings::default(),
        }
    }
}
