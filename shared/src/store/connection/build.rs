//! The connection each topology needs, built lazily: nothing is dialled until the first
//! command.

use std::sync::{Arc, Mutex};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::sentinel::{SentinelClientBuilder, SentinelServerType};
use redis::{ConnectionAddr, IntoConnectionInfo, RedisError};

use super::{Inner, LazyCluster, SentinelMaster};
use crate::settings::StoreSettings;

type Certificates = redis::TlsCertificates;

pub(super) fn single(
    url: &str,
    certificates: Option<Certificates>,
    password: Option<&str>,
    config: ConnectionManagerConfig,
) -> Result<Inner, RedisError> {
    let mut info = url.into_connection_info()?;
    if let Some(password) = password {
        let redis_settings = info.redis_settings().clone().set_password(password);
        info = info.set_redis_settings(redis_settings);
    }
    let client = match certificates {
        Some(certs) => redis::Client::build_with_tls(info, certs)?,
        None => redis::Client::open(info)?,
    };
    Ok(Inner::Single(ConnectionManager::new_lazy_with_config(client, config)?))
}

pub(super) fn cluster(
    nodes: Vec<String>,
    settings: &StoreSettings,
    certificates: Option<Certificates>,
    password: Option<&str>,
) -> Result<Inner, RedisError> {
    let mut builder = ClusterClient::builder(nodes)
        .connection_timeout(settings.connect_timeout)
        .response_timeout(settings.response_timeout)
        .retries(1);
    if let Some(certs) = certificates {
        builder = builder.certs(certs);
    }
    if let Some(password) = password {
        builder = builder.password(password);
    }
    Ok(Inner::Cluster(Arc::new(LazyCluster {
        client: builder.build()?,
        connection: tokio::sync::OnceCell::new(),
    })))
}

/// A Sentinel URL's parts, but its password.
pub(super) struct SentinelUrl {
    pub sentinels: Vec<(String, u16)>,
    pub master: String,
    pub tls: bool,
    pub username: Option<String>,
}

pub(super) fn sentinel_master(
    url: SentinelUrl,
    certificates: Option<Certificates>,
    password: Option<String>,
    config: ConnectionManagerConfig,
) -> Result<Inner, RedisError> {
    let tls = url.tls;
    let addr = |(host, port): (String, u16)| match tls {
        true => ConnectionAddr::TcpTls {
            host,
            port,
            insecure: false,
            tls_params: None,
        },
        false => ConnectionAddr::Tcp(host, port),
    };
    let mut builder = SentinelClientBuilder::new(
        url.sentinels.into_iter().map(addr),
        url.master,
        SentinelServerType::Master,
    )?;
    if tls {
        builder = builder
            .set_client_to_redis_tls_mode(redis::TlsMode::Secure)
            .set_client_to_sentinel_tls_mode(redis::TlsMode::Secure);
        if let Some(certs) = certificates {
            builder = builder
                .set_client_to_redis_certificates(certs.clone())
                .set_client_to_sentinel_certificates(certs);
        }
    }
    if let Some(username) = url.username {
        builder = builder.set_client_to_redis_username(username);
    }
    if let Some(password) = password {
        builder = builder.set_client_to_redis_password(password);
    }
    Ok(Inner::Sentinel(Arc::new(SentinelMaster {
        sentinel: tokio::sync::Mutex::new(builder.build()?),
        current: Mutex::new(None),
        config,
    })))
}
