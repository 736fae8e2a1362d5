//! jwks-service: the one owner of signing keys. It generates them (rcgen), stores them,
//! publishes the public halves at `/.well-known/jwks.json` and streams the active private
//! key to the signers (identity-service, token-service) over gRPC `KeyService`.
//!
//! Its modules, from the wiring down; arrows run one way, down this list (the floors
//! `tools/floors/jwks-service.txt` checks):
//!
//! - [`startup`]: [`startup::JwksService`] contributes its parts to `shared::serve`;
//!   [`startup::Application`] is a standalone replica.
//! - [`settings`]: what an operator configures.
//! - [`http`]: the JWKS document.
//! - [`grpc`]: the `KeyService` stream and the `KeyAdmin` operator API.
//! - [`store`]: where keys live (Redis, or memory for the all-in-one runner), the
//!   implementations of `keys::store::KeyStore`.
//! - [`keys`]: key material, RFC 7638 thumbprints, sealing at rest, the lifecycle, the
//!   [`keys::KeyManager`] that holds the published set, and the store trait it needs.
//! - [`error`]: the one error enum, and its one HTTP and gRPC mapping.

#![forbid(unsafe_code)]

pub mod error;
pub mod grpc;
pub mod http;
pub mod keys;
pub mod settings;
pub mod startup;
pub mod store;
