//! Which address a request came from, learned one way by every service: the rate limits,
//! the audit stream's `ip` and the logs all read what [`ClientAddressSettings::resolve`]
//! decided once per request.
//!
//! A header a client sends is worth nothing: anyone can write `X-Forwarded-For: 1.2.3.4`
//! or `Forwarded: for=…`. What a proxy *we run* added is worth something, and a proxy
//! appends (or overwrites with) the address it saw on the right. So with
//! `trusted_proxy_hops = N` the client is the N-th entry from the right of
//! `X-Forwarded-For`: the address the outermost of our N proxies saw. Everything left
//! of it was written by the client and is ignored. `Forwarded` (RFC 7239) and
//! `X-Real-IP` are never read unless `header = "forwarded"` says so, because proxies
//! that set `X-Forwarded-For` commonly pass a client's `Forwarded` through untouched.

use std::net::{IpAddr, SocketAddr};

use actix_web::HttpMessage as _;
use actix_web::http::header::HeaderMap;
use serde::{Deserialize, Serialize};

/// How many proxies of ours stand in front of the service, and which header they write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientAddressSettings {
    /// Proxies (ingress controller, gateway, load balancer) that each append or overwrite
    /// the client address on the right of the header. 0: the TCP peer is the client.
    /// 1: behind one ingress (the Kubernetes manifests, Compose, the local topology).
    #[serde(default)]
    pub trusted_proxy_hops: u8,
    /// The header those proxies write.
    #[serde(default)]
    pub header: ForwardedHeader,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2`: what ingress-nginx, HAProxy, Envoy
    /// and cloud load balancers write.
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`, for proxies that write only that.
    Forwarded,
}

/// The client address of a request, as the middleware resolved it (a request extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIp(pub String);

impl ClientAddressSettings {
    /// The client's address: the TCP peer's when no proxy is trusted or none wrote the
    /// header, else the entry the outermost trusted proxy wrote. With fewer entries than
    /// hops (a request that skipped an outer proxy), the left-most entry is still one a
    /// trusted proxy wrote, so that one counts.
    pub fn resolve(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> String {
        let peer = peer.map(|p| p.ip().to_canonical().to_string());
        let fallback = || peer.clone().unwrap_or_else(|| "unknown".to_owned());
        let hops = usize::from(self.trusted_proxy_hops);
        if hops == 0 {
            return fallback();
        }
        let entries = match self.header {
            ForwardedHeader::XForwardedFor => x_forwarded_for(headers),
            ForwardedHeader::Forwarded => forwarded_for(headers),
        };
        let Some(entry) = entries
            .len()
            .checked_sub(hops)
            .and_then(|i| entries.get(i))
            .or(entries.first())
        else {
            return fallback();
        };
        // A trusted proxy wrote something that is not an address ("unknown", an RFC 7239
        // obfuscated name): the nearest address we know is the peer's.
        parse_address(entry).map_or_else(fallback, |ip| ip.to_canonical().to_string())
    }
}

/// Refuses a removed setting by name, pointing at its replacement: unknown keys are
/// otherwise ignored, and this one ignored would put every client in one bucket.
pub fn refuse_replaced(key: &str, present: bool) -> Result<(), crate::settings::SettingsError> {
    match present {
        false => Ok(()),
        true => Err(crate::settings::SettingsError::invalid(
            key,
            "was removed: set client_address.trusted_proxy_hops instead (1 behind one ingress)",
        )),
    }
}

/// The address the middleware resolved for `request`; the TCP peer's for a request that
/// did not pass through it (unit tests mounting a handler alone).
pub fn of(request: &actix_web::HttpRequest) -> String {
    if let Some(ClientIp(ip)) = request.extensions().get::<ClientIp>() {
        return ip.clone();
    }
    request
        .peer_addr()
        .map_or_else(|| "unknown".to_owned(), |p| p.ip().to_canonical().to_string())
}

/// Every `X-Forwarded-For` entry, left to right, across repeated header lines
/// (RFC 9110 §5.3: lines combine in order, as one comma-separated list).
fn x_forwarded_for(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|entry| entry.trim().to_owned())
        .filter(|entry| !entry.is_empty())
        .collect()
}

/// The `for=` parameter of every RFC 7239 forwarded-element, left to right; an element
/// without one contributes an empty entry, so positions still count proxies.
fn forwarded_for(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("forwarded")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|element| {
            element
                .split(';')
                .filter_map(|pair| pair.split_once('='))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("for"))
                .map(|(_, value)| value.trim().trim_matches('"').to_owned())
                .unwrap_or_default()
        })
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:4711`.
fn parse_address(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(socket) = entry.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    entry
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|inner| inner.parse::<IpAddr>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(lines: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in lines {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        map
    }

    fn peer() -> Option<SocketAddr> {
        Some("10.0.0.7:51000".parse().expect("peer"))
    }

    fn hops(n: u8) -> ClientAddressSettings {
        ClientAddressSettings {
            trusted_proxy_hops: n,
            ..Default::default()
        }
    }

    #[test]
    fn without_trusted_proxies_only_the_peer_counts() {
        let forged = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("forwarded", "for=198.51.100.1"),
            ("x-real-ip", "198.51.100.2"),
        ]);
        assert_eq!(hops(0).resolve(peer(), &forged), "10.0.0.7");
    }

    #[test]
    fn one_hop_takes_the_entry_the_ingress_appended() {
        // The client wrote the first two; the ingress appended the address it saw.
        let appended = headers(&[
            ("x-forwarded-for", "1.1.1.1, 2.2.2.2"),
            ("x-forwarded-for", "192.0.2.10"),
        ]);
        assert_eq!(hops(1).resolve(peer(), &appended), "192.0.2.10");
        let overwritten = headers(&[("x-forwarded-for", "192.0.2.10")]);
        assert_eq!(hops(1).resolve(peer(), &overwritten), "192.0.2.10");
    }

    #[test]
    fn forwarded_and_x_real_ip_are_ignored_unless_chosen() {
        let map = headers(&[
            ("x-forwarded-for", "192.0.2.10"),
            ("forwarded", "for=198.51.100.1"),
            ("x-real-ip", "198.51.100.2"),
        ]);
        assert_eq!(hops(1).resolve(peer(), &map), "192.0.2.10");
        let rfc7239 = ClientAddressSettings {
            trusted_proxy_hops: 2,
            header: ForwardedHeader::Forwarded,
        };
        let chain = headers(&[
            ("forwarded", "for=6.6.6.6"),
            ("forwarded", r#"for="[2001:db8::1]:4711";proto=https, for=192.0.2.3"#),
        ]);
        assert_eq!(rfc7239.resolve(peer(), &chain), "2001:db8::1");
    }

    #[test]
    fn two_hops_skip_the_inner_proxy() {
        let map = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.5:4711, 10.1.0.2")]);
        assert_eq!(hops(2).resolve(peer(), &map), "203.0.113.5");
    }

    #[test]
    fn short_or_missing_headers_fall_back_without_trusting_the_client() {
        assert_eq!(hops(1).resolve(peer(), &HeaderMap::new()), "10.0.0.7");
        let short = headers(&[("x-forwarded-for", "192.0.2.10")]);
        assert_eq!(hops(3).resolve(peer(), &short), "192.0.2.10");
        let garbage = headers(&[("x-forwarded-for", "unknown")]);
        assert_eq!(hops(1).resolve(peer(), &garbage), "10.0.0.7");
        assert_eq!(hops(1).resolve(None, &garbage), "unknown");
    }

    #[test]
    fn addresses_are_canonical_so_one_client_has_one_bucket() {
        let mapped = headers(&[("x-forwarded-for", "[::ffff:192.0.2.10]:1234")]);
        assert_eq!(hops(1).resolve(peer(), &mapped), "192.0.2.10");
    }

    #[test]
    fn settings_read_as_operators_write_them() {
        let parsed: ClientAddressSettings =
            serde_json::from_str(r#"{"trusted_proxy_hops": 1, "header": "forwarded"}"#).expect("parse");
        assert_eq!(parsed.header, ForwardedHeader::Forwarded);
        let default: ClientAddressSettings = serde_json::from_str("{}").expect("defaults");
        assert_eq!(default, ClientAddressSettings::default());
    }
}
