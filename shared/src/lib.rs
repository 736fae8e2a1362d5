//! Plumbing shared by the agentauth services. No business rule lives here.
//!
//! - [`settings`]: layered settings (defaults → `AGENTAUTH_CONFIG` file → `AGENTAUTH__…`
//!   environment) and the setting types every service repeats.
//! - [`telemetry`]: logs (JSON lines, non-blocking), OpenTelemetry traces, Prometheus
//!   metrics.
//! - [`audit`]: the audit stream.
//! - [`shutdown`]: the SIGTERM future and the readiness latch.
//! - [`health`]: `/healthz` and `/readyz` handlers.
//! - [`store`]: the error every store returns, and the Redis connection.
//! - [`envelope`]: the error bodies of the OAuth and agent surfaces, and `no-store` headers.
//! - [`media`]: `Content-Type` checks.
//! - [`fetch`]: SSRF-safe, bounded fetches of URLs others give us.
//! - [`client_address`]: the client's address, from the TCP peer or trusted proxy hops.
//! - [`ratelimit`]: sliding-window rate limits, shared through Redis, failing open.
//! - [`keys`]: the key ring fed by jwks-service, and key sets others publish, fetched.
//! - [`secrets`]: secret files.
//! - [`grpc`]: client channels with bounded timeouts.
//! - [`serve`]: one replica's HTTP + gRPC servers with a bounded drain.
//! - [`pki`]: the internal CA and per-service certificates.
//! - [`tls`]: internal mTLS (TLS 1.3, peers checked by service name).
//! - [`time`]: the clock, and times on the wire (RFC 3339).
//! - `testing` (feature `testing`): a real `redis-server` per test.
//!
//! Arrows run one way, up these floors (the floors `tools/floors/shared.txt` checks):
//! values (`time`, `secrets`, `audit`, `media`, `envelope`), `settings` and
//! `client_address`, `telemetry`, then `shutdown`, `tls`, `fetch`, `store`, then
//! `health`, `grpc` and `pki`, `ratelimit`, `keys`, `serve`, and `testing` last.

#![forbid(unsafe_code)]

pub mod audit;
pub mod client_address;
pub mod envelope;
pub mod fetch;
pub mod grpc;
pub mod health;
pub mod keys;
pub mod media;
pub mod pki;
pub mod ratelimit;
pub mod secrets;
pub mod serve;
pub mod settings;
pub mod shutdown;
pub mod store;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;
pub mod tls;

/// A P-256 PKCS#8 key for unit tests.
#[cfg(test)]
fn testing_key() -> Vec<u8> {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    #[allow(clippy::expect_used)]
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &aws_lc_rs::rand::SystemRandom::new())
        .expect("key");
    pkcs8.as_ref().to_vec()
}
