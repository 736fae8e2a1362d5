//! agentctl: the operator CLI of agentauth and its all-in-one local runner.
//!
//! - [`dev`]: `agentctl dev`, the three services in one process: real gRPC between them
//!   over loopback, every HTTP route on one port, the in-memory store unless a Redis URL
//!   is given.
//! - [`clients`]: `agentctl clients create`, through token-service's internal
//!   `ClientAdmin` gRPC API (never the public HTTP surface).
//! - [`keys`]: `agentctl keys rotate|list`, through jwks-service's internal `KeyAdmin` API.
//! - [`certs`]: `agentctl certs init`, the internal CA and per-service certificates.
//! - [`cli`]: the command line.

//!
//! Arrows run one way (the floors `tools/floors/agentctl.txt` checks): the transport
//! (`channel`, `dev_pki`) under the commands (`clients`, `keys`, `certs`, `dev`), under
//! `cli`.

#![forbid(unsafe_code)]

pub mod certs;
pub mod channel;
pub mod cli;
pub mod clients;
pub mod dev;
pub mod dev_pki;
pub mod keys;
