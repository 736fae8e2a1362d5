//! identity-service: where agents register and get a service-signed identity assertion,
//! and where the token service asks (gRPC) whether an assertion may be exchanged.
//!
//! - [`settings`]: what an operator configures; validated before any port is bound.
//! - [`registration`]: registrations, their derived status (DESIGN §5) and what each
//!   status may be granted.
//! - [`claim`]: the claim ceremony (claim link, 6-digit code, completion).
//! - [`email`]: email addresses, parsed once.
//! - [`mail`]: outgoing mail (SMTP, or a file outbox in development).
//! - [`ratelimit`]: sliding-window limits shared through Redis.
//! - [`assertion`]: minting and verifying identity assertions (`oauth-id-jag+jwt`).
//! - [`store`]: registrations in Redis, or memory for the all-in-one runner.
//! - [`http`]: discovery (RFC 8414) and `POST /agent/identity`.
//! - [`validation`]: the exchange-path check behind `ValidateAssertion`.
//! - [`grpc`]: the `IdentityService` gRPC server.
//! - [`state`]: what every handler reads, built once.
//! - [`error`]: the one error enum and its HTTP mapping.
//! - [`startup`]: [`startup::IdentityService`] (mountable) and [`startup::Application`].

#![forbid(unsafe_code)]

pub mod assertion;
pub mod claim;
pub mod email;
pub mod error;
pub mod grpc;
pub mod http;
pub mod mail;
pub mod providers;
pub mod ratelimit;
pub mod registration;
pub mod settings;
pub mod startup;
pub mod state;
pub mod store;
pub mod validation;
