//! token-service: the OAuth 2.0 credential surface. It exchanges identity assertions
//! (RFC 7523 jwt-bearer, validated by identity-service over gRPC) and machine-client
//! credentials (`client_credentials`) for RFC 9068 JWT access tokens signed with the key
//! jwks-service streams to it, and serves revocation (RFC 7009) and introspection
//! (RFC 7662). The hot path does one gRPC call, no store write and one local signature.
//!
//! - [`settings`]: what an operator configures; validated before any port is bound.
//! - [`form`]: strict `application/x-www-form-urlencoded` parameters (RFC 6749 §3.2).
//! - [`clients`]: machine clients, self-registered (RFC 7591) clients of the
//!   authorization code flow, and client authentication (RFC 6749 §2.3).
//! - [`access_token`]: minting and verifying RFC 9068 access tokens.
//! - [`grants`]: the grants (jwt-bearer, client_credentials, authorization_code,
//!   refresh_token) and scope narrowing.
//! - [`refresh`]: refresh token families: rotation, reuse detection, binding.
//! - [`identity`]: the gRPC client of identity-service.
//! - [`store`]: revocation denylist, clients and refresh families, in Redis or memory.
//! - [`http`]: `/oauth2/token`, `/oauth2/revoke`, `/oauth2/introspect`,
//!   `/oauth2/register`.
//! - [`grpc`]: `ClientAdmin`, the operator API (`agentctl clients create`), and
//!   `ClientDirectory`, identity-service's lookup of a client's redirect URIs.
//! - [`state`]: what the handlers read, built once.
//! - [`error`]: [`error::OAuthError`] and its one mapping to RFC 6749 §5.2 responses;
//!   [`error::AdminError`] and its one mapping to gRPC statuses.
//! - [`startup`]: [`startup::TokenService`] contributes its parts to `shared::serve`;
//!   [`startup::Application`] is a standalone replica.

#![forbid(unsafe_code)]

pub mod access_token;
pub mod clients;
pub mod error;
pub mod form;
pub mod grants;
pub mod grpc;
pub mod http;
pub mod identity;
pub mod refresh;
pub mod settings;
pub mod startup;
pub mod state;
pub mod store;
