//! Public HTTP surface: `/.well-known/jwks.json` (RFC 7517).

use std::sync::Arc;

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpResponse, web};

use crate::error::JwksError;
use crate::keys::KeyManager;

/// State the JWKS route needs.
#[derive(Debug, Clone)]
pub struct JwksState {
    pub keys: Arc<KeyManager>,
    pub max_age_secs: u64,
}

/// The public routes this service mounts, as the ingress must route them to it
/// (`/healthz` and `/readyz` are internal and never routed).
pub const ROUTES: &[&str] = &[JWKS];
const JWKS: &str = "/.well-known/jwks.json";

pub fn configure(cfg: &mut web::ServiceConfig, state: JwksState) {
    cfg.app_data(web::Data::new(state)).route(JWKS, web::get().to(jwks));
}

async fn jwks(state: web::Data<JwksState>) -> Result<HttpResponse, JwksError> {
    let published = state.keys.current().ok_or(JwksError::KeysNotLoaded)?;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/jwk-set+json"))
        .insert_header((CACHE_CONTROL, format!("public, max-age={}", state.max_age_secs)))
        .body(published.jwks_json.clone()))
}
