//! jwks-service integration tests: the service spawned in-process on port 0.

mod helpers;
mod jwks;
mod store_contract;
