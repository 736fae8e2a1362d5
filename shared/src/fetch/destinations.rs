//! Where a fetch may connect: the rules for a URL, and a resolver that answers public
//! addresses only, so a name cannot point a fetch inward.

use std::net::{IpAddr, SocketAddr};

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
pub(super) struct PublicOnly {
    pub(super) allow_loopback: bool,
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
