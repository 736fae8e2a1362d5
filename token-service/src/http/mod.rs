//! Public HTTP surface: `/oauth2/token`, `/oauth2/revoke`, `/oauth2/introspect`. Every
//! response under `/oauth2` carries `Cache-Control: no-store` and `Pragma: no-cache`.

mod introspect;
mod revoke;
mod token;

use std::sync::Arc;

use actix_web::http::header::ALLOW;
use actix_web::{HttpResponse, web};

use crate::error::OAuthError;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig, state: Arc<AppState>) {
    cfg.service(
        web::scope("/oauth2")
            .app_data(web::Data::from(state))
            .wrap(shared::envelope::no_store_headers())
            .service(post_only("/token").route(web::post().to(token::token)))
            .service(post_only("/revoke").route(web::post().to(revoke::revoke)))
            .service(post_only("/introspect").route(web::post().to(introspect::introspect))),
    );
}

fn post_only(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

async fn method_not_allowed() -> HttpResponse {
    let mut response =
        actix_web::ResponseError::error_response(&OAuthError::InvalidRequest("this endpoint accepts POST only".into()));
    *response.status_mut() = actix_web::http::StatusCode::METHOD_NOT_ALLOWED;
    response
        .headers_mut()
        .insert(ALLOW, actix_web::http::header::HeaderValue::from_static("POST"));
    response
}
