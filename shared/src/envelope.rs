//! Error bodies of the two public surfaces (DESIGN §6) and the headers every OAuth
//! response carries. Each crate's error enum picks a code; this module only shapes it.

use actix_web::dev::ServiceResponse;
use actix_web::error::{
    ContentTypeError, JsonPayloadError, PathError, PayloadError, QueryPayloadError, UrlencodedError,
};
use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, PRAGMA, RETRY_AFTER};
use actix_web::middleware::{DefaultHeaders, ErrorHandlerResponse, ErrorHandlers};
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
    let description = description.map(oauth_description);
    builder_for(status).json(OAuthErrorBody {
        error,
        error_description: description.as_deref(),
    })
}

pub fn agent_error(status: StatusCode, error: &str, message: &str) -> HttpResponse {
    builder_for(status)
        .insert_header((CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .json(AgentErrorBody { error, message })
}

/// RFC 6749 §5.2: `error_description` is limited to `%x20-21 / %x23-5B / %x5D-7E`.
/// Every other character (a quote, a backslash, anything outside printable ASCII) is
/// replaced, so no description can break a client's parser whatever a caller passes in.
pub fn oauth_description(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ' ' | '!' | '#'..='[' | ']'..='~' => c,
            _ => '?',
        })
        .collect()
}

/// The public surfaces, each with its own error envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// `/oauth2/*`: RFC 6749 §5.2 `{error, error_description}`.
    OAuth,
    /// `/agent/*`: `{error, message}`.
    Agent,
    /// The security event receiver: RFC 8935 §2.3 `{err, description}`.
    SecurityEvents,
}

/// Wraps a scope or resource so that the errors actix produces itself (an extractor that
/// refuses the body, an oversized payload, no such route, a wrong method) answer in the
/// surface's envelope. Responses our own error types built pass through untouched.
pub fn actix_errors_in<B: 'static>(surface: Surface) -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(move |response: ServiceResponse<B>| {
        let Some(description) = actix_error_description(response.response()) else {
            return Ok(ErrorHandlerResponse::Response(response.map_into_left_body()));
        };
        let status = response.status();
        let (request, original) = response.into_parts();
        let mut rewritten = match surface {
            Surface::OAuth => oauth_error(status, "invalid_request", Some(description)),
            Surface::Agent => agent_error(status, agent_code(status), description),
            Surface::SecurityEvents => builder_for(status).json(SetErrorBody {
                err: "invalid_request",
                description,
            }),
        };
        // Keep what the router said besides the body, such as `Allow` on a 405.
        for (name, value) in original.headers() {
            if name != CONTENT_TYPE && name != CONTENT_LENGTH && !rewritten.headers().contains_key(name) {
                rewritten.headers_mut().insert(name.clone(), value.clone());
            }
        }
        let rewritten = ServiceResponse::new(request, rewritten).map_into_right_body();
        Ok(ErrorHandlerResponse::Response(rewritten))
    })
}

/// RFC 8935 §2.3 error body.
#[derive(Debug, Serialize)]
pub struct SetErrorBody<'a> {
    pub err: &'a str,
    pub description: &'a str,
}

fn agent_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "request_too_large",
        _ => "invalid_request",
    }
}

/// A fixed description for an error actix produced, or `None` for a response one of our
/// handlers built. Never the error's own text: that can echo the client's input.
fn actix_error_description<B>(response: &HttpResponse<B>) -> Option<&'static str> {
    let status = response.status();
    let Some(error) = response.error() else {
        // No error attached: the router answered (no route, or no route for the method).
        return match status {
            StatusCode::NOT_FOUND => Some("no such endpoint"),
            StatusCode::METHOD_NOT_ALLOWED => Some("this endpoint does not accept this method"),
            _ => None,
        };
    };
    let too_large = "the request body is too large";
    if let Some(error) = error.as_error::<PayloadError>() {
        return Some(match error {
            PayloadError::Overflow => too_large,
            _ => "the request body could not be read",
        });
    }
    if let Some(error) = error.as_error::<JsonPayloadError>() {
        return Some(match error {
            JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => too_large,
            JsonPayloadError::ContentType => "Content-Type must be application/json",
            _ => "the request body is not the JSON this endpoint expects",
        });
    }
    if let Some(error) = error.as_error::<UrlencodedError>() {
        return Some(match error {
            UrlencodedError::Overflow { .. } => too_large,
            UrlencodedError::ContentType => "Content-Type must be application/x-www-form-urlencoded",
            _ => "the request body is not the form this endpoint expects",
        });
    }
    if error.as_error::<QueryPayloadError>().is_some() {
        return Some("the query string is not valid for this endpoint");
    }
    if error.as_error::<PathError>().is_some() {
        return Some("the request path is not valid for this endpoint");
    }
    if error.as_error::<ContentTypeError>().is_some() {
        return Some("the Content-Type header cannot be parsed");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_keep_to_the_rfc_6749_alphabet() {
        let cleaned = oauth_description("grant_type `x\"\\é` (RFC 6749 §5.2)\n");
        assert_eq!(cleaned, "grant_type `x???` (RFC 6749 ?5.2)?");
        assert!(cleaned.chars().all(|c| matches!(c, ' ' | '!' | '#'..='[' | ']'..='~')));
    }
}
