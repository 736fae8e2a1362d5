//! SSRF-safe fetches of URLs that someone we do not control gave us (a client's
//! `jwks_uri`, its client ID metadata document): a time and size limit, no redirects,
//! and with [`Destinations::Public`] https only, to public addresses only. Names are
//! resolved by our own resolver, which drops private, loopback and link-local answers,
//! so a DNS trick cannot point the fetch inward.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use url::{Host, Url};

/// Where fetches may connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destinations {
    /// Wherever the operator configured (a provider inside the cluster is fine); http
    /// only on loopback.
    Configured,
    /// Public addresses over https only (loopback, over http too, when `allow_loopback`:
    /// development).
    Public { allow_loopback: bool },
}

/// What a fetch brought back.
#[derive(Debug)]
pub struct Fetched {
    pub body: Vec<u8>,
    /// The response's `Cache-Control: max-age`, if it gave one (and not `no-store`).
    pub max_age: Option<Duration>,
    pub fetched_at: Instant,
}

/// One HTTP client for fetches under one set of destination rules.
pub struct Fetcher {
    http: reqwest::Client,
    destinations: Destinations,
    /// A file holding the bearer token each fetch presents, read at every fetch (a
    /// Kubernetes service-account token rotates under it).
    bearer_token_file: Option<std::path::PathBuf>,
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

    /// Every fetch presents the token in `path` as `Authorization: Bearer` (RFC 6750
    /// §2.1), as the Kubernetes API server asks of those reading its issuer's keys.
    #[must_use]
    pub fn with_bearer_token_file(mut self, path: std::path::PathBuf) -> Self {
        self.bearer_token_file = Some(path);
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
        check_url(url.as_str(), self.destinations)?;
        let fetched_at = Instant::now();
        let mut request = self.http.get(url.clone()).header(ACCEPT, media_types.join(", "));
        if let Some(path) = &self.bearer_token_file {
            let token = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the bearer token file {}: {e}", path.display()))?;
            request = request.bearer_auth(token.trim());
        }
        let mut response = request.send().await.map_err(|e| with_causes(&e))?;
        if !response.status().is_success() {
            return Err(format!("status {}", response.status()));
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
        })
    }
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

/// The destination rules for a URL someone gave us.
pub fn check_url(value: &str, destinations: Destinations) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|_| format!("`{value}` is not a URL"))?;
    let loopback = match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name == "localhost",
        None => return Err("the URL has no host".into()),
    };
    let literal = match url.host() {
        Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        _ => None,
    };
    let (https_only, allow_loopback, public_only) = match destinations {
        Destinations::Configured => (false, true, false),
        Destinations::Public { allow_loopback } => (true, allow_loopback, true),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback && allow_loopback => {}
        _ if https_only => return Err("the URL must be https".into()),
        _ => return Err("the URL must be https (http only on loopback)".into()),
    }
    if public_only
        && let Some(ip) = literal
        && !allowed(ip, allow_loopback)
    {
        return Err("the URL points at a private, loopback or link-local address".into());
    }
    Ok(url)
}

/// Whether an address is one the public may make us connect to.
pub fn allowed(ip: IpAddr, allow_loopback: bool) -> bool {
    if ip.is_loopback() {
        return allow_loopback;
    }
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                // 100.64.0.0/10 carrier-grade NAT, 0.0.0.0/8 "this network".
                || (a == 100 && (64..128).contains(&b))
                || a == 0)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return allowed(IpAddr::V4(v4), allow_loopback);
            }
            let first = v6.segments()[0];
            !(v6.is_unspecified()
                || v6.is_multicast()
                // fc00::/7 unique local, fe80::/10 link-local.
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// A resolver whose answers are only public addresses.
struct PublicOnly {
    allow_loopback: bool,
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_loopback = self.allow_loopback;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|a| allowed(a.ip(), allow_loopback))
                .collect();
            if public.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
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

    #[test]
    fn only_public_addresses_pass_for_public_destinations() {
        for private in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!allowed(private.parse().expect("ip"), true), "{private}");
        }
        assert!(!allowed("127.0.0.1".parse().expect("ip"), false));
        assert!(
            allowed("127.0.0.1".parse().expect("ip"), true),
            "loopback in development"
        );
        for public in ["8.8.8.8", "2606:4700::1111"] {
            assert!(allowed(public.parse().expect("ip"), false), "{public}");
        }
    }

    #[test]
    fn urls_follow_the_destination_rules() {
        let public = Destinations::Public { allow_loopback: false };
        assert!(check_url("https://keys.example.com/jwks", public).is_ok());
        for bad in [
            "http://keys.example.com/jwks",
            "https://10.0.0.1/jwks",
            "https://[fd00::1]/jwks",
            "http://127.0.0.1:1/jwks",
            "file:///etc/passwd",
        ] {
            assert!(check_url(bad, public).is_err(), "{bad}");
        }
        let dev = Destinations::Public { allow_loopback: true };
        assert!(check_url("http://127.0.0.1:8080/jwks", dev).is_ok());
        assert!(check_url("http://127.0.0.1:8080/jwks", Destinations::Configured).is_ok());
        assert!(check_url("http://keys.internal/jwks", Destinations::Configured).is_err());
    }
}
