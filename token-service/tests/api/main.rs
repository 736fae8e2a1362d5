//! token-service integration tests: token-service with its real peers (identity-service,
//! jwks-service) spawned in-process on port 0, talking gRPC over loopback; Redis-backed
//! runs use a real `redis-server` each.

mod account;
mod authorization_code;
mod authorize_hostile;
mod balancing;
mod delegation_human;
mod delegation_policy;
mod dpop;
mod flow;
mod helpers;
mod hostile;
mod human;
mod id_jag;
mod introspect;
mod machine_clients;
mod metadata_documents;
mod mtls;
mod private_key_jwt;
mod proofs;
mod provider_revocation;
mod refresh;
mod registration;
mod resources;
mod review;
mod revoke;
mod rotation;
mod sessions;
mod store_contract;
mod token;
mod token_exchange;
mod upstream;
mod workload;
