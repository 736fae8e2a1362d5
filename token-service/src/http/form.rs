//! `application/x-www-form-urlencoded` request parameters under RFC 6749's rules:
//! a parameter sent twice is an error (§3.2), one sent empty counts as absent (§3.1).
//! The exceptions are RFC 8707 `resource` and RFC 8693 `audience`, which a request may
//! repeat.
//! Parsing is one linear pass that stops at [`MAX_PARAMS`], so no body of any shape
//! costs more than its length.

use std::collections::HashSet;

use actix_web::HttpRequest;

use crate::error::OAuthError;

/// More parameters than any request to our endpoints carries (a token request with
/// client authentication, a DPoP-bound grant and resource indicators stays far below).
pub const MAX_PARAMS: usize = 32;
/// Parameters a request may send more than once (RFC 8707 §2, RFC 8693 §2.1).
const REPEATABLE: [&str; 2] = ["resource", "audience"];

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
        Self::from_body(body)
    }

    /// Parses the body alone.
    pub fn from_body(body: &[u8]) -> Result<Self, OAuthError> {
        let mut pairs = Vec::new();
        let mut seen = HashSet::new();
        for (count, (name, value)) in form_urlencoded::parse(body).enumerate() {
            if count == MAX_PARAMS {
                return Err(OAuthError::InvalidRequest(format!(
                    "the request carries more than {MAX_PARAMS} parameters"
                )));
            }
            if !seen.insert(name.clone()) && !REPEATABLE.contains(&name.as_ref()) {
                // The name is the client's input: never echoed (RFC 6749 §5.2 charset).
                return Err(OAuthError::InvalidRequest("a parameter is repeated".into()));
            }
            if !value.is_empty() {
                pairs.push((name.into_owned(), value.into_owned()));
            }
        }
        Ok(Self(pairs))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Every value of a repeatable parameter, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::InvalidRequest(format!("missing required parameter `{name}`")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(count: usize) -> String {
        (0..count).map(|i| format!("p{i}=")).collect::<Vec<_>>().join("&")
    }

    #[test]
    fn empty_values_count_as_absent() {
        let form = FormParams::from_body(b"grant_type=x&scope=&a+b=c%20d").expect("parses");
        assert_eq!(form.get("grant_type"), Some("x"));
        assert_eq!(form.get("scope"), None);
        assert_eq!(form.get("a b"), Some("c d"));
    }

    #[test]
    fn a_repeated_parameter_is_refused_even_when_empty() {
        for body in ["a=1&a=2", "a=&a=", "a&b&a"] {
            let error = FormParams::from_body(body.as_bytes()).expect_err(body);
            assert_eq!(error.code(), "invalid_request");
        }
    }

    #[test]
    fn resource_may_repeat_and_nothing_else_may() {
        let form = FormParams::from_body(b"resource=https%3A%2F%2Fa&resource=https%3A%2F%2Fb&x=1").expect("parses");
        assert_eq!(form.get_all("resource").collect::<Vec<_>>(), ["https://a", "https://b"]);
        assert!(FormParams::from_body(b"resource=a&scope=x&scope=y").is_err());
    }

    #[test]
    fn the_parameter_count_is_bounded() {
        FormParams::from_body(body_of(MAX_PARAMS).as_bytes()).expect("at the bound");
        let error = FormParams::from_body(body_of(40_000).as_bytes()).expect_err("far past the bound");
        assert!(error.to_string().contains("more than 32 parameters"), "{error}");
        let error = FormParams::from_body(body_of(MAX_PARAMS + 1).as_bytes()).expect_err("one past");
        assert!(error.to_string().contains("more than 32 parameters"), "{error}");
    }
}
