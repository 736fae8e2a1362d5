//! identity-service integration tests: the service and its real jwks-service peer
//! spawned in-process on port 0, talking gRPC over loopback.

mod discovery;
mod helpers;
mod register;
mod store_contract;
mod validate;
