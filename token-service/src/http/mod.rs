//! Public HTTP surface: `/oauth2/token`, `/oauth2/revoke`, `/oauth2/introspect`,
//! `/oauth2/register`. Each handler parses its request once ([`form`], [`credentials`])
//! and takes only the service it uses. Every response under `/oauth2` carries
//! `Cache-Control: no-store` and `Pragma: no-cache`, and every error (ours or one actix
//! produces) is an RFC 6749 §5.2 body.

pub mod credentials;
pub mod form;
mod introspect;
mod register;
mod revoke;
mod token;

use std::sync::Arc;

use actix_web::web;
use protocol::oauth::MtlsSettings;
use shared::envelope::Surface;

use crate::grants::{DpopProofs, Grants};
use crate::introspection::Introspection;
use crate::registration::ClientRegistrar;
use crate::revocation::Revocation;

/// Largest form body accepted: far above any real request (an assertion is under 1 KiB),
/// far below what would let a body cost a worker noticeable time.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The public routes this service mounts, as the ingress must route them to it
/// (`/healthz` and `/readyz` are internal and never routed).
pub const ROUTES: &[&str] = &[
    "/oauth2/token",
    "/oauth2/revoke",
    "/oauth2/introspect",
    "/oauth2/register",
];

/// Where the ingress puts a client certificate and its verdict on it.
#[derive(Debug)]
pub struct ClientHeaders {
    pub mtls: MtlsSettings,
}

/// The services the handlers take, each registered on its own.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub grants: Arc<Grants>,
    pub proofs: Arc<DpopProofs>,
    pub introspection: Arc<Introspection>,
    pub revocation: Arc<Revocation>,
    pub registrar: Arc<ClientRegistrar>,
    pub headers: Arc<ClientHeaders>,
}

pub fn configure(cfg: &mut web::ServiceConfig, endpoints: Endpoints) {
    cfg.service(
        web::scope("/oauth2")
            .app_data(web::Data::from(endpoints.grants))
            .app_data(web::Data::from(endpoints.proofs))
            .app_data(web::Data::from(endpoints.introspection))
            .app_data(web::Data::from(endpoints.revocation))
            .app_data(web::Data::from(endpoints.registrar))
            .app_data(web::Data::from(endpoints.headers))
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .wrap(shared::envelope::actix_errors_in(Surface::OAuth))
            .wrap(shared::envelope::no_store_headers())
            // Any other method gets actix's 405 with `Allow`, in the OAuth envelope.
            .service(web::resource("/token").route(web::post().to(token::token)))
            .service(web::resource("/revoke").route(web::post().to(revoke::revoke)))
            .service(web::resource("/introspect").route(web::post().to(introspect::introspect)))
            .service(web::resource("/register").route(web::post().to(register::register))),
    );
}
