//! jwks-service integration tests: the service spawned in-process on port 0.

mod at_rest;
mod helpers;
mod jwks;
mod schedule;
mod store_contract;
