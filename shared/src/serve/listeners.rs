//! The listeners of a replica.

use std::net::TcpListener;

use crate::settings::ListenSettings;

/// The listeners of a replica, bound before anything runs (port 0 works).
#[derive(Debug)]
pub struct Listeners {
    pub http: TcpListener,
    pub grpc: TcpListener,
    /// `/metrics`, internal; `None` serves no metrics endpoint.
    pub metrics: Option<TcpListener>,
}

impl Listeners {
    /// Binds the listeners before anything else runs, so a bad address fails fast.
    pub fn bind(
        http: &ListenSettings,
        grpc: &ListenSettings,
        metrics: Option<&ListenSettings>,
    ) -> Result<Self, BindError> {
        let bind = |what: &'static str, listen: &ListenSettings| {
            listen.bind().map_err(|source| BindError {
                what,
                address: format!("{}:{}", listen.host, listen.port),
                source,
            })
        };
        Ok(Self {
            http: bind("http", http)?,
            grpc: bind("grpc", grpc)?,
            metrics: metrics.map(|m| bind("metrics", m)).transpose()?,
        })
    }

    #[allow(clippy::expect_used)]
    pub fn http_addr(&self) -> std::net::SocketAddr {
        self.http.local_addr().expect("a bound listener has an address")
    }

    #[allow(clippy::expect_used)]
    pub fn grpc_addr(&self) -> std::net::SocketAddr {
        self.grpc.local_addr().expect("a bound listener has an address")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot bind {what} listener on {address}: {source}")]
pub struct BindError {
    pub what: &'static str,
    pub address: String,
    pub source: std::io::Error,
}
