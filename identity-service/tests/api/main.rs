//! identity-service integration tests: the service and its real jwks-service peer
//! spawned in-process on port 0, talking gRPC over loopback.

mod authorize_store;
mod ceremony;
mod claim;
mod claim_complete;
mod discovery;
mod email_path;
mod helpers;
mod hostile;
mod outbox;
mod provider_paths;
mod register;
mod store_contract;
mod validate;
