//! The outbound gRPC clients of token-service, one per peer; the servers it runs are in
//! `crate::grpc`. Generated protobuf types stop in these files.
//!
//! - [`identity`]: identity-service (registration state, authorization codes, grants).

pub mod identity;
mod identity_status;

pub use identity_status::GrantStatus;
