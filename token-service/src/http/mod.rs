//! Public HTTP surface: `/oauth2/token`, `/oauth2/revoke`, `/oauth2/introspect`,
//! `/oauth2/register`. Every
//! response under `/oauth2` carries `Cache-Control: no-store` and `Pragma: no-cache`, and
//! every error (ours or one actix produces) is an RFC 6749 §5.2 body.

mod introspect;
pub mod register;
mod revoke;
mod token;

use std::sync::Arc;

use actix_web::web;
use shared::envelope::Surface;

use crate::state::AppState;

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

pub fn configure(cfg: &mut web::ServiceConfig, state: Arc<AppState>) {
    cfg.service(
        web::scope("/oauth2")
            .app_data(web::Data::from(state))
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
