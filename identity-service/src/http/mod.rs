//! Public HTTP surface of identity-service.

mod claim;
mod claim_page;
mod discovery;
mod events;
pub(crate) mod json;
mod register;
pub mod resource_metadata;
mod skill;

pub use register::RegistrationRequest;

use std::sync::Arc;

use actix_web::dev::HttpServiceFactory;
use actix_web::{Route, web};
use shared::envelope::{Surface, actix_errors_in};

use crate::state::AppState;

/// Largest request body accepted on any POST: far above a real one (an ID-JAG or a SET is
/// a few KiB), far below what would let a body cost a worker noticeable time.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The public routes this service mounts, as the ingress must route them to it;
/// `{path}` stands for one or more segments. `/healthz` and `/readyz` are internal and
/// never routed.
pub const ROUTES: &[&str] = &[
    "/.well-known/oauth-authorization-server",
    "/auth.md",
    "/.well-known/oauth-protected-resource",
    "/.well-known/oauth-protected-resource/{path}",
    "/agent/identity",
    "/agent/identity/claim",
    "/agent/identity/claim/view",
    "/agent/identity/claim/attempt/challenge",
    "/agent/identity/claim/complete",
    "/agent/event/notify",
    "/agent/auth/revoke",
];

/// Mounts the routes; each handler takes the state it needs (a single domain service, or
/// the whole [`AppState`] when it combines several).
pub fn configure(cfg: &mut web::ServiceConfig, state: Arc<AppState>) {
    cfg.app_data(web::Data::from(state.claims.clone()))
        .app_data(web::Data::from(state.trust.clone()))
        .app_data(web::Data::from(state.registrations.clone()))
        .app_data(web::Data::from(state))
        .route(
            "/.well-known/oauth-authorization-server",
            web::get().to(discovery::metadata),
        )
        .route("/auth.md", web::get().to(skill::skill))
        // RFC 9728 documents answer their errors (an unknown resource, a path that does
        // not decode) as JSON too.
        .service(agent(
            "/.well-known/oauth-protected-resource",
            web::get().to(|state| resource_metadata::metadata(None, state)),
        ))
        .service(agent(
            "/.well-known/oauth-protected-resource/{path:.*}",
            web::get().to(|path, state| resource_metadata::metadata(Some(path), state)),
        ))
        .service(agent("/agent/identity", web::post().to(register::register)))
        .service(agent("/agent/identity/claim", web::post().to(claim::start)))
        // The human's pages answer in HTML, errors included.
        .route("/agent/identity/claim/view", web::get().to(claim_page::view))
        .service(
            web::resource("/agent/identity/claim/attempt/challenge")
                .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                .route(web::post().to(claim_page::challenge)),
        )
        .service(agent("/agent/identity/claim/complete", web::post().to(claim::complete)))
        .service(security_events("/agent/event/notify", web::post().to(events::notify)))
        .service(security_events(
            "/agent/auth/revoke",
            web::post().to(events::legacy_revoke),
        ));
}

/// A `/agent/*` JSON endpoint: bounded body, every error as `{error, message}`.
fn agent(path: &str, route: Route) -> impl HttpServiceFactory {
    web::resource(path)
        .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
        .route(route)
        .wrap(actix_errors_in(Surface::Agent))
}

/// A security event receiver: bounded body, every error as RFC 8935 `{err, description}`.
fn security_events(path: &str, route: Route) -> impl HttpServiceFactory {
    web::resource(path)
        .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
        .route(route)
        .wrap(actix_errors_in(Surface::SecurityEvents))
}
