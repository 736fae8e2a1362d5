//! Public HTTP surface of identity-service.

mod discovery;
mod register;

use std::sync::Arc;

use actix_web::web;

use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig, state: Arc<AppState>) {
    cfg.app_data(web::Data::from(state))
        .route(
            "/.well-known/oauth-authorization-server",
            web::get().to(discovery::metadata),
        )
        .route("/agent/identity", web::post().to(register::register));
}
