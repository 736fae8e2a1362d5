//! `workload_identity`: the issuers whose workload tokens authenticate clients.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use shared::keys::remote::RemoteKeySettings;

pub use crate::clients::workload::WorkloadKind;

/// Trusted workload issuers, and how their key sets are cached.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WorkloadIdentitySettings {
    #[serde(default)]
    pub issuers: Vec<WorkloadIssuerSettings>,
    /// Cache bounds, refetch cooldown on an unknown `kid`, fetch timeout.
    #[serde(default)]
    pub keys: RemoteKeySettings,
}

/// One trusted issuer of workload tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkloadIssuerSettings {
    /// The tokens' exact `iss` (a cluster's `--service-account-issuer`).
    pub issuer: String,
    pub kind: WorkloadKind,
    /// Where its keys are; unset: from OIDC discovery at `issuer`.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// The `aud` values accepted; empty: the issuer of our tokens and our token endpoint.
    #[serde(default)]
    pub audiences: Vec<String>,
    /// Longest a token may live (`exp - iat`, or `exp - now` without `iat`).
    #[serde(default = "one_hour", with = "humantime_serde")]
    pub max_lifetime: Duration,
    /// PEM CA certificates to trust for this issuer's discovery and keys (a cluster's
    /// private CA), besides the system's.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// A token file every key fetch presents as `Authorization: Bearer`: the Kubernetes
    /// API server serves its issuer's keys to authenticated callers only.
    #[serde(default)]
    pub bearer_token_file: Option<PathBuf>,
    /// Kubernetes: only tokens bound to a pod (`kubernetes.io.pod`), never a token
    /// from a Secret or `kubectl create token`.
    #[serde(default)]
    pub require_pod_binding: bool,
    /// SPIFFE: the trust domain whose IDs this issuer vouches for. A JWT-SVID without
    /// `iss` is matched to its issuer by it.
    #[serde(default)]
    pub trust_domain: Option<String>,
    /// Refuse a second use of a token's `jti` (and tokens without one). Off by default:
    /// a pod reads one token for most of its life, as the kubelet rotates it.
    #[serde(default)]
    pub single_use_jti: bool,
}

fn one_hour() -> Duration {
    Duration::from_secs(3600)
}
