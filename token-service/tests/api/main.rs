//! token-service integration tests: token-service with its real peers (identity-service,
//! jwks-service) spawned in-process on port 0, talking gRPC over loopback; Redis-backed
//! runs use a real `redis-server` each.

mod balancing;
mod flow;
mod helpers;
mod hostile;
mod introspect;
mod provider_revocation;
mod revoke;
mod rotation;
mod store_contract;
mod token;
