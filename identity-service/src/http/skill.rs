//! `GET /auth.md`: the agent skill document, written out for this deployment's URLs.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpResponse, web};

use crate::state::AppState;

const TEMPLATE: &str = include_str!("auth.md");

pub async fn skill(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/markdown; charset=utf-8"))
        .insert_header((CACHE_CONTROL, "public, max-age=300"))
        .body(TEMPLATE.replace("{issuer}", &state.issuer))
}
