//! JSON request bodies of the `/agent/*` surface: media type checked, then parsed, every
//! failure an `invalid_request`.

use actix_web::HttpRequest;
use serde::de::DeserializeOwned;

use crate::error::IdentityError;

pub fn parse_json<T: DeserializeOwned>(request: &HttpRequest, body: &[u8]) -> Result<T, IdentityError> {
    require_json(request)?;
    parse_body(body)
}

pub fn require_json(request: &HttpRequest) -> Result<(), IdentityError> {
    if !shared::media::has_media_type(request, "application", "json") {
        return Err(IdentityError::InvalidRequest(
            "Content-Type must be application/json".into(),
        ));
    }
    Ok(())
}

/// The body as `T`; an error says where it went wrong, never what the client sent.
pub fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, IdentityError> {
    serde_json::from_slice(body).map_err(|e| {
        // serde's own message can quote the client's input; say where, not what.
        let what = match e.classify() {
            serde_json::error::Category::Data => "has a field of the wrong type",
            _ => "is not valid JSON",
        };
        IdentityError::InvalidRequest(format!(
            "the request body {what} (line {}, column {})",
            e.line(),
            e.column()
        ))
    })
}
