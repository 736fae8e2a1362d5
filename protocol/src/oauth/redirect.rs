//! Redirect URIs: what a client may register (OAuth 2.1 §2.3.1, RFC 8252 §7, RFC 9700
//! §4.1.1), and how a presented one is matched against the registered ones: exactly, as
//! strings, except that a loopback redirect may name any port at request time (RFC 8252
//! §7.3), since a native client binds whatever port is free.

use url::Url;

/// The kinds of redirect URI a client may register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectKind {
    /// `https://…`: a web client.
    Web,
    /// `http://127.0.0.1`, `http://[::1]` or `http://localhost` (RFC 8252 §7.3, §8.3):
    /// a native client's loopback listener; the port may change per request.
    Loopback,
    /// A private-use scheme in reverse-domain form (`com.example.app:/callback`, RFC 8252
    /// §7.1): a native app's claimed scheme.
    PrivateUse,
}

/// Why a redirect URI may not be registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RedirectError {
    #[error("a redirect URI must be an absolute URI")]
    NotAbsolute,
    #[error("a redirect URI must not have a fragment (RFC 6749 §3.1.2)")]
    Fragment,
    #[error("a redirect URI must not carry user information")]
    UserInfo,
    #[error("plain http is only for loopback redirects (127.0.0.1, [::1] or localhost)")]
    InsecureHttp,
    #[error("a private-use scheme must be a reverse domain name, such as com.example.app (RFC 8252 §7.1)")]
    UnsafeScheme,
    #[error("a redirect URI is at most 2000 characters")]
    TooLong,
}

const MAX_LEN: usize = 2000;

/// Checks a redirect URI a client registers, and says what kind it is.
pub fn check_registered(uri: &str) -> Result<RedirectKind, RedirectError> {
    if uri.len() > MAX_LEN {
        return Err(RedirectError::TooLong);
    }
    let url = Url::parse(uri).map_err(|_| RedirectError::NotAbsolute)?;
    // `Url` drops an empty fragment (`…#`); the string still has it.
    if url.fragment().is_some() || uri.contains('#') {
        return Err(RedirectError::Fragment);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(RedirectError::UserInfo);
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(RedirectKind::Web),
        "http" if is_loopback(&url) => Ok(RedirectKind::Loopback),
        "http" | "https" => Err(RedirectError::InsecureHttp),
        scheme if scheme.contains('.') => Ok(RedirectKind::PrivateUse),
        _ => Err(RedirectError::UnsafeScheme),
    }
}

/// Whether `presented` (a request's `redirect_uri`) is one of `registered`: the same
/// string, or for a loopback redirect the same string but for its port.
pub fn matches<'r>(registered: impl IntoIterator<Item = &'r str>, presented: &str) -> bool {
    registered.into_iter().any(|candidate| {
        candidate == presented
            || (check_registered(candidate) == Ok(RedirectKind::Loopback)
                && without_port(candidate).is_some_and(|c| Some(c) == without_port(presented)))
    })
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip == std::net::Ipv4Addr::LOCALHOST,
        Some(url::Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    }
}

/// `http://host[:port]rest` without `:port`, for loopback hosts only; `None` otherwise.
fn without_port(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("http://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host = match authority.rsplit_once(':') {
        // `[::1]:8080` splits at the port; `[::1]` alone must not split inside the brackets.
        Some((host, port)) if !port.contains(']') && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    };
    matches!(host, "127.0.0.1" | "[::1]" | "localhost").then(|| format!("http://{host}{tail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_client_may_register() {
        for (uri, kind) in [
            ("https://app.example.com/callback", RedirectKind::Web),
            ("https://app.example.com/cb?tenant=1", RedirectKind::Web),
            ("http://127.0.0.1/callback", RedirectKind::Loopback),
            ("http://127.0.0.1:33418/callback", RedirectKind::Loopback),
            ("http://[::1]:8080/cb", RedirectKind::Loopback),
            ("http://localhost:6274/oauth/callback", RedirectKind::Loopback),
            ("com.example.app:/oauth2redirect", RedirectKind::PrivateUse),
        ] {
            assert_eq!(check_registered(uri), Ok(kind), "{uri}");
        }
    }

    #[test]
    fn what_a_client_may_not_register() {
        for (uri, error) in [
            ("/callback", RedirectError::NotAbsolute),
            ("https://app.example.com/cb#frag", RedirectError::Fragment),
            ("https://app.example.com/cb#", RedirectError::Fragment),
            ("https://user:pw@app.example.com/cb", RedirectError::UserInfo),
            ("http://app.example.com/cb", RedirectError::InsecureHttp),
            ("http://127.0.0.2/cb", RedirectError::InsecureHttp),
            ("http://localhost.evil.example/cb", RedirectError::InsecureHttp),
            ("javascript:alert(1)", RedirectError::UnsafeScheme),
            ("data:text/html,hi", RedirectError::UnsafeScheme),
            ("file:///etc/passwd", RedirectError::UnsafeScheme),
            ("myapp://callback", RedirectError::UnsafeScheme),
        ] {
            assert_eq!(check_registered(uri), Err(error), "{uri}");
        }
        let long = format!("https://app.example.com/{}", "a".repeat(MAX_LEN));
        assert_eq!(check_registered(&long), Err(RedirectError::TooLong));
    }

    #[test]
    fn matching_is_exact_but_for_a_loopback_port() {
        let registered = [
            "https://app.example.com/callback",
            "http://127.0.0.1/callback",
            "http://[::1]:1234/cb",
        ];
        for presented in [
            "https://app.example.com/callback",
            "http://127.0.0.1/callback",
            "http://127.0.0.1:53012/callback",
            "http://[::1]/cb",
            "http://[::1]:9/cb",
        ] {
            assert!(matches(registered, presented), "{presented}");
        }
        for presented in [
            "https://app.example.com/callback/",
            "https://app.example.com/Callback",
            "https://APP.example.com/callback",
            "https://app.example.com/callback?x=1",
            "https://app.example.com:443/callback",
            "https://app.example.com/callback#",
            "http://app.example.com/callback",
            "http://127.0.0.1:53012/callback/",
            "http://127.0.0.1:53012/callback?next=https://evil.example",
            "http://localhost:53012/callback",
            "http://127.0.0.1:80x/callback",
            "http://[::1]:9/cb/../x",
        ] {
            assert!(!matches(registered, presented), "{presented}");
        }
    }

    #[test]
    fn a_web_redirect_never_gets_the_port_exception() {
        assert!(!matches(["https://127.0.0.1/cb"], "https://127.0.0.1:8443/cb"));
        assert!(!matches(["com.example.app:/cb"], "com.example.app:/cb2"));
        assert!(matches(["com.example.app:/cb"], "com.example.app:/cb"));
    }
}
