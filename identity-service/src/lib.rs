//! identity-service: where agents register and get a service-signed identity assertion,
//! and where the token service asks (gRPC) whether an assertion may be exchanged.
//!
//! Its modules, from the wiring down; arrows run one way, down this list (the floors
//! `tools/floors/identity-service.txt` checks):
//!
//! - [`startup`]: [`startup::IdentityService`] builds the domain services from settings
//!   and contributes its parts to `shared::serve`; [`startup::Application`].
//! - [`settings`]: what an operator configures; validated before any port is bound.
//! - [`http`]: discovery (RFC 8414, RFC 9728), registration, the claim ceremony's
//!   endpoints and pages, the authorization endpoint's pages, and the security event
//!   receivers.
//! - [`grpc`]: the `IdentityService` gRPC server (token-service's exchange check, code
//!   redemption and grant status).
//! - [`state`]: what the HTTP handlers hold: the domain services, built once.
//! - [`store`]: registrations, delegations, known humans, seen token ids, sign-ins,
//!   codes and grants, in Redis or in memory for the all-in-one runner: the
//!   implementations of the domains' store traits.
//! - [`authorize`]: [`authorize::Authorizations`], the authorization endpoint: sign-in
//!   by email and a one-time code, consent (grants), authorization codes.
//! - [`claim`]: [`claim::ClaimCeremony`], the whole claim ceremony, including starting it
//!   for verified-email registrations and ID-JAG step-ups.
//! - [`registration`]: the record, its derived status (DESIGN §5), the policy, the edit
//!   loop, and [`registration::Registrations`], which creates, edits and revokes them.
//! - [`validation`]: [`validation::Validation`], the exchange-path check behind
//!   `ValidateAssertion` (one verification, one store read).
//! - [`providers`]: trusted providers: their keys, and [`providers::ProviderTrust`], which
//!   turns their ID-JAGs and security events into typed claims, each accepted once.
//! - [`upstream`]: sign-in at the company's identity providers (OpenID Connect relying
//!   party): the flow and the ID token's validation.
//! - [`assertion`]: minting and verifying identity assertions (`oauth-id-jag+jwt`).
//! - [`ratelimit`]: sliding-window limits shared through Redis.
//! - [`mail`]: outgoing mail (SMTP, or a file outbox in development).
//! - [`peers`]: the outbound gRPC client of token-service (who an OAuth client is).
//! - [`email`]: email addresses, parsed once.
//! - [`error`]: the one error enum, and its one HTTP and gRPC mapping.
//! - `testing` (feature `testing`): registrations in any state, for tests.

#![forbid(unsafe_code)]

pub mod assertion;
pub mod authorize;
pub mod claim;
pub mod email;
pub mod error;
pub mod grpc;
pub mod http;
pub mod mail;
pub mod peers;
pub mod providers;
pub mod ratelimit;
pub mod registration;
pub mod settings;
pub mod startup;
pub mod state;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod upstream;
pub mod validation;
