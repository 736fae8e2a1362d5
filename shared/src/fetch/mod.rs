//! SSRF-safe fetches of URLs that someone we do not control gave us (a client's
//! `jwks_uri`, its client ID metadata document): a time and size limit, no redirects,
//! and with [`Destinations::Public`] https only, to public addresses only. Names are
//! resolved by our own resolver, which drops private, loopback and link-local answers,
//! so a DNS trick cannot point the fetch inward.

mod destinations;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use url::Url;

use self::destinations::PublicOnly;
pub use self::destinations::{Destinations, allowed, check_url};

/// What a fetch brought back.
#[derive(Debug)]
pub struct Fetched {
    pub body: Vec<u8>,
    /// The response's `Cache-Control: max-age`, if it gave one (and not `no-store`).
    pub max_age: Option<Duration>,
    pub fetched_at: Instant,
    /// The HTTP status (a 2xx unless the caller accepted any).
    pub status: u16,
}

/// One HTTP client for fetches under one set of destination rules.
pub struct Fetcher {
    http: reqwest::Client,
    destinations: Destinations,
    /// A file holding the bearer token each fetch presents, read at every fetch (a
    /// Kubernetes service-account token rotates under it), and the origins it is
    /// presented to: no other.
    bearer_token_file: Option<(std::path::PathBuf, Vec<url::Origin>)>,
}

impl fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fetcher")
            .field("destinations", &self.destinations)
            .finish_non_exhaustive()
    }
}

impl Fetcher {
    /// Every fetch is bounded by `timeout`, follows no redirect (the URL is the source; a
    /// redirect could go anywhere) and connects only where `destinations` allow.
    pub fn new(timeout: Duration, destinations: Destinations) -> Result<Self, String> {
        Self::trusting(timeout, destinations, None)
    }

    /// Like [`Self::new`], trusting the PEM CA certificates in `extra_roots` besides the
    /// system's (an operator's private PKI).
    pub fn trusting(timeout: Duration, destinations: Destinations, extra_roots: Option<&[u8]>) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none());
        if let Some(pem) = extra_roots {
            let roots = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| format!("the extra CA certificates are not PEM: {e}"))?;
            if roots.is_empty() {
                return Err("the extra CA file holds no certificate".into());
            }
            builder = builder.tls_certs_merge(roots);
        }
        if let Destinations::Public { allow_loopback } = destinations {
            builder = builder.dns_resolver(Arc::new(PublicOnly { allow_loopback }));
        }
        let http = builder
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            http,
            destinations,
            bearer_token_file: None,
        })
    }

    /// Every fetch to one of `origins` presents the token in `path` as
    /// `Authorization: Bearer` (RFC 6750 §2.1), as the Kubernetes API server asks of
    /// those reading its issuer's keys; a URL elsewhere (a `jwks_uri` a discovery
    /// document names on another host) never sees it.
    #[must_use]
    pub fn with_bearer_token_file(mut self, path: std::path::PathBuf, origins: &[Url]) -> Self {
        self.bearer_token_file = Some((path, origins.iter().map(Url::origin).collect()));
        self
    }

    pub fn destinations(&self) -> Destinations {
        self.destinations
    }

    /// Checks a URL against the destination rules (before any fetch).
    pub fn check_url(&self, value: &str) -> Result<Url, String> {
        check_url(value, self.destinations)
    }

    /// GETs `url`: a 2xx answer of one of the `media_types`, at most `max_bytes` long.
    pub async fn get(&self, url: &Url, media_types: &[&str], max_bytes: usize) -> Result<Fetched, String> {
        let token = match &self.bearer_token_file {
            Some((path, origins)) if origins.contains(&url.origin()) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read the bearer token file {}: {e}", path.display()))?,
            ),
            _ => None,
        };
        self.get_as(url, media_types, max_bytes, token.as_deref().map(str::trim))
            .await
    }

    /// [`Self::get`] presenting `token` as `Authorization: Bearer` (RFC 6750 §2.1).
    pub async fn get_as(
        &self,
        url: &Url,
        media_types: &[&str],
        max_bytes: usize,
        token: Option<&str>,
    ) -> Result<Fetched, String> {
        check_url(url.as_str(), self.destinations)?;
        let fetched_at = Instant::now();
        let mut request = self.http.get(url.clone()).header(ACCEPT, media_types.join(", "));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        read(request, media_types, max_bytes, fetched_at, false).await
    }

    /// POSTs `form` to `url` (an OAuth token endpoint), with HTTP Basic credentials if
    /// given: the answer must be JSON, at most `max_bytes` long. An error status's body is
    /// returned too, as an OAuth error response is one.
    pub async fn post_form(
        &self,
        url: &Url,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
        max_bytes: usize,
    ) -> Result<(u16, Vec<u8>), String> {
        check_url(url.as_str(), self.destinations)?;
        let mut request = self
            .http
            .post(url.clone())
            .header(ACCEPT, "application/json")
            .form(form);
        if let Some((user, password)) = basic {
            request = request.basic_auth(user, Some(password));
        }
        let fetched = read(request, &["application/json"], max_bytes, Instant::now(), true).await?;
        Ok((fetched.status, fetched.body))
    }
}

/// Sends `request` and reads its answer: of one of `media_types`, at most `max_bytes`,
/// and (unless `any_status`) a 2xx.
async fn read(
    request: reqwest::RequestBuilder,
    media_types: &[&str],
    max_bytes: usize,
    fetched_at: Instant,
    any_status: bool,
) -> Result<Fetched, String> {
    let mut response = request.send().await.map_err(|e| with_causes(&e))?;
    let status = response.status();
    if !status.is_success() && !any_status {
        return Err(format!("status {status}"));
    }
    let media_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let essence = media_type
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if !essence.is_some_and(|e| media_types.contains(&e.as_str())) {
        return Err(format!("content type {media_type:?} is not one of {media_types:?}"));
    }
    let max_age = max_age(response.headers().get(CACHE_CONTROL));
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > max_bytes {
            return Err(format!("the document is larger than {max_bytes} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched {
        body,
        max_age,
        fetched_at,
        status: status.as_u16(),
    })
}

/// `max-age` of a `Cache-Control` header; none for `no-store` or `no-cache`.
fn max_age(cache_control: Option<&HeaderValue>) -> Option<Duration> {
    let directives = cache_control.and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mut max_age = None;
    for directive in directives.split(',').map(str::trim) {
        if directive.eq_ignore_ascii_case("no-store") || directive.eq_ignore_ascii_case("no-cache") {
            return None;
        }
        if let Some((name, value)) = directive.split_once('=')
            && name.eq_ignore_ascii_case("max-age")
        {
            max_age = value.trim_matches('"').parse::<u64>().ok().map(Duration::from_secs);
        }
    }
    max_age
}

/// An error with its sources: "error sending request: … resolves to no public address".
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_gives_max_age_unless_caching_is_refused() {
        let header = |v: &str| HeaderValue::from_str(v).expect("header");
        assert_eq!(
            max_age(Some(&header("public, max-age=300"))),
            Some(Duration::from_secs(300))
        );
        assert_eq!(max_age(Some(&header("max-age=300, no-store"))), None);
        assert_eq!(max_age(Some(&header("no-cache"))), None);
        assert_eq!(max_age(None), None);
    }
}
