//! Error bodies of the two public surfaces (DESIGN §6) and the headers every OAuth
//! response carries. Each crate's error enum picks a code; this module only shapes it.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, HeaderValue, PRAGMA, RETRY_AFTER};
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpResponse, HttpResponseBuilder};
use serde::Serialize;

/// Seconds a client should wait after a 503 before retrying.
pub const RETRY_AFTER_SECS: u32 = 5;

/// RFC 6749 §5.2 error body.
#[derive(Debug, Serialize)]
pub struct OAuthErrorBody<'a> {
    pub error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<&'a str>,
}

/// Error body of the `/agent/*` surface.
#[derive(Debug, Serialize)]
pub struct AgentErrorBody<'a> {
    pub error: &'a str,
    pub message: &'a str,
}

/// RFC 6749 §5.1: token responses (and, by our rule, every `/oauth2/*` response) must not
/// be cached. Wrap the whole scope so extractor errors and 404s get it too.
pub fn no_store_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .add((PRAGMA, HeaderValue::from_static("no-cache")))
}

/// A response for `status`, with `Retry-After` when the status asks the client to retry.
pub fn builder_for(status: StatusCode) -> HttpResponseBuilder {
    let mut builder = HttpResponse::build(status);
    if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS {
        builder.insert_header((RETRY_AFTER, RETRY_AFTER_SECS));
    }
    builder
}

/// An RFC 6749 §5.2 error; the `/oauth2` scope's [`no_store_headers`] adds the cache headers.
pub fn oauth_error(status: StatusCode, error: &str, description: Option<&str>) -> HttpResponse {
    builder_for(status).json(OAuthErrorBody {
        error,
        error_description: description,
    })
}

pub fn agent_error(status: StatusCode, error: &str, message: &str) -> HttpResponse {
    builder_for(status)
        .insert_header((CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .json(AgentErrorBody { error, message })
}
