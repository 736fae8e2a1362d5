//! Public HTTP surface of identity-service.

mod claim;
mod claim_page;
mod discovery;
mod events;
pub(crate) mod json;
mod register;
pub mod resource_metadata;
mod skill;

use std::sync::Arc;

use actix_web::web;

use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig, state: Arc<AppState>) {
    cfg.app_data(web::Data::from(state))
        .route(
            "/.well-known/oauth-authorization-server",
            web::get().to(discovery::metadata),
        )
        .route("/auth.md", web::get().to(skill::skill))
        .route(
            "/.well-known/oauth-protected-resource",
            web::get().to(|state| resource_metadata::metadata(None, state)),
        )
        .route(
            "/.well-known/oauth-protected-resource/{path:.*}",
            web::get().to(|path, state| resource_metadata::metadata(Some(path), state)),
        )
        .route("/agent/identity", web::post().to(register::register))
        .route("/agent/identity/claim", web::post().to(claim::start))
        .route("/agent/identity/claim/view", web::get().to(claim_page::view))
        .route(
            "/agent/identity/claim/attempt/challenge",
            web::post().to(claim_page::challenge),
        )
        .route("/agent/identity/claim/complete", web::post().to(claim::complete))
        .route("/agent/event/notify", web::post().to(events::notify))
        .route("/agent/auth/revoke", web::post().to(events::legacy_revoke));
}
