//! RFC 9728 protected resource metadata for the resources an operator configures, so
//! clients of those resources can discover this authorization server. The metadata of
//! `https://host/path` lives at `/.well-known/oauth-protected-resource/path` (§3.1).

use actix_web::http::StatusCode;
use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpResponse, web};

use crate::state::AppState;

pub async fn metadata(path: Option<web::Path<String>>, state: web::Data<AppState>) -> HttpResponse {
    let wanted = path.map(|p| p.into_inner()).unwrap_or_default();
    let found = state
        .discovery
        .protected_resources
        .iter()
        .find(|r| resource_path(&r.resource) == wanted.trim_matches('/'));
    let Some(resource) = found else {
        return shared::envelope::agent_error(StatusCode::NOT_FOUND, "not_found", "no such protected resource");
    };
    let mut body = serde_json::json!({
        "resource": resource.resource,
        "authorization_servers": [state.issuer],
        "bearer_methods_supported": ["header"],
        "scopes_supported": resource.scopes_supported,
    });
    if let Some(name) = &resource.resource_name {
        body["resource_name"] = name.clone().into();
    }
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "public, max-age=300"))
        .json(body)
}

/// The path part of a resource identifier, without surrounding slashes.
fn resource_path(resource: &str) -> String {
    url::Url::parse(resource)
        .map(|u| u.path().trim_matches('/').to_owned())
        .unwrap_or_default()
}
