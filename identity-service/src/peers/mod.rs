//! The outbound gRPC clients of identity-service, one per peer; the server it runs is in
//! `crate::grpc`. Generated protobuf types stop in these files.
//!
//! - [`token_service`]: token-service's `ClientDirectory`, who an OAuth client is.
//! - [`delegations`]: token-service's `Delegations`, what was handed on in whose name.

pub mod delegations;
pub mod token_service;
