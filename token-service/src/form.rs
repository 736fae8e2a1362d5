//! `application/x-www-form-urlencoded` request parameters under RFC 6749's rules:
//! a parameter sent twice is an error (§3.2), one sent empty counts as absent (§3.1).

use actix_web::HttpRequest;

use crate::error::OAuthError;

#[derive(Debug)]
pub struct FormParams(Vec<(String, String)>);

impl FormParams {
    /// Parses a body after checking its media type.
    pub fn parse(request: &HttpRequest, body: &[u8]) -> Result<Self, OAuthError> {
        if !shared::media::has_media_type(request, "application", "x-www-form-urlencoded") {
            return Err(OAuthError::InvalidRequest(
                "Content-Type must be application/x-www-form-urlencoded".into(),
            ));
        }
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|_| OAuthError::InvalidRequest("body is not valid form encoding".into()))?;
        let mut seen: Vec<&str> = Vec::with_capacity(pairs.len());
        for (name, _) in &pairs {
            if seen.contains(&name.as_str()) {
                return Err(OAuthError::InvalidRequest(format!("parameter `{name}` is repeated")));
            }
            seen.push(name);
        }
        Ok(Self(pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect()))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::InvalidRequest(format!("missing required parameter `{name}`")))
    }
}
