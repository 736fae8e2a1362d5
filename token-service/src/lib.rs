//! token-service: the OAuth 2.0 credential surface. It exchanges identity assertions
//! (RFC 7523 jwt-bearer, verified here with the keys jwks-service streams, the
//! registration's state asked of identity-service over gRPC) and machine-client
//! credentials (`client_credentials`) for RFC 9068 JWT access tokens signed with the key
//! jwks-service streams to it, and serves revocation (RFC 7009), introspection
//! (RFC 7662) and client registration (RFC 7591). The hot path does one gRPC call, no
//! store write and one local signature check.
//!
//! Its modules, from the wiring down; arrows run one way, down this list (the floors
//! `tools/floors/token-service.txt` checks):
//!
//! - [`startup`]: [`startup::TokenService`] builds the services from settings and
//!   contributes its parts to `shared::serve`; [`startup::Application`].
//! - [`settings`]: what an operator configures; validated before any port is bound.
//! - [`http`]: `/oauth2/token`, `/oauth2/revoke`, `/oauth2/introspect`,
//!   `/oauth2/register`; each request parsed once into its typed form.
//! - [`grpc`]: the servers: `ClientAdmin`, the operator API (`agentctl clients
//!   create`), and `ClientDirectory`, identity-service's lookup of a client.
//! - [`grants`]: [`grants::Grants`], one service per grant (jwt-bearer,
//!   client_credentials, authorization_code, refresh_token, token-exchange), with
//!   scope narrowing, resource indicators and DPoP.
//! - [`introspection`], [`revocation`]: RFC 7662 and RFC 7009, and the denylist;
//!   [`liveness`]: whether a token, and everything it rests on, still stands.
//! - [`registration`]: [`registration::ClientRegistrar`] (RFC 7591) and client ID
//!   metadata documents.
//! - [`client_auth`]: [`client_auth::ClientAuthenticator`], one service per method.
//! - [`refresh`]: refresh token families: rotation, reuse detection, binding.
//! - [`access_token`]: minting and verifying RFC 9068 access tokens.
//! - [`peers`]: the outbound gRPC clients (identity-service).
//! - [`clients`]: the client record, its store and its lifecycle.
//! - [`store`]: the stores' Redis and memory implementations; the traits are the
//!   domains'.
//! - [`error`]: [`error::OAuthError`], every refusal, and its one mapping to RFC 6749
//!   §5.2 responses; [`error::AdminError`] and its one mapping to gRPC statuses.

#![forbid(unsafe_code)]

pub mod access_token;
pub mod client_auth;
pub mod clients;
pub mod delegations;
pub mod error;
pub mod grants;
pub mod grpc;
pub mod http;
pub mod introspection;
pub mod liveness;
pub mod peers;
pub mod refresh;
pub mod registration;
pub mod revocation;
pub mod settings;
pub mod startup;
pub mod store;
