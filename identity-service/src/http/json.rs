//! JSON request bodies of the `/agent/*` surface: media type checked, then parsed, every
//! failure an `invalid_request`.

use actix_web::HttpRequest;
use serde::de::DeserializeOwned;

use crate::error::IdentityError;

pub fn parse_json<T: DeserializeOwned>(request: &HttpRequest, body: &[u8]) -> Result<T, IdentityError> {
    if !shared::media::has_media_type(request, "application", "json") {
        return Err(IdentityError::InvalidRequest(
            "Content-Type must be application/json".into(),
        ));
    }
    serde_json::from_slice(body).map_err(|e| IdentityError::InvalidRequest(format!("invalid request body: {e}")))
}

/// Unix seconds as RFC 3339 UTC, the form every `*_expires` / `expires_at` field uses.
pub fn rfc3339(unix_secs: i64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix_secs.max(0) as u64);
    humantime::format_rfc3339_seconds(at).to_string()
}
