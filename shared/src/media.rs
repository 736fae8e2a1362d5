//! Request media types, checked the same way on every surface.

use actix_web::{HttpMessage, HttpRequest};

/// True when `Content-Type` is `type/subtype` (parameters such as `charset` ignored), or,
/// for `json`, any `+json` structured syntax suffix (RFC 6839).
pub fn has_media_type(request: &HttpRequest, type_: &str, subtype: &str) -> bool {
    match request.mime_type() {
        // The essence keeps a suffix (`secevent+jwt`), which `subtype()` would drop.
        Ok(Some(mime)) => {
            mime.essence_str().eq_ignore_ascii_case(&format!("{type_}/{subtype}"))
                || (subtype == "json" && mime.type_() == type_ && mime.suffix().is_some_and(|s| s == "json"))
        }
        _ => false,
    }
}
