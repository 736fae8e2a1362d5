//! jwks-service: the one owner of signing keys. It generates them (rcgen), stores them,
//! publishes the public halves at `/.well-known/jwks.json` and streams the active private
//! key to the signers (identity-service, token-service) over gRPC `KeyService`.
//!
//! - [`settings`]: what an operator configures.
//! - [`keys`]: key material, RFC 7638 thumbprints, and the [`keys::KeyManager`] that holds
//!   the published set.
//! - [`store`]: where keys live (Redis, or memory for the all-in-one runner).
//! - [`http`]: the JWKS document.
//! - [`grpc`]: the `KeyService` stream.
//! - [`startup`]: [`startup::JwksService`] (mountable) and [`startup::Application`]
//!   (a standalone replica).

#![forbid(unsafe_code)]

pub mod grpc;
pub mod http;
pub mod keys;
pub mod settings;
pub mod startup;
pub mod store;
