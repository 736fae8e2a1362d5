//! One Redis connection type for every store, whatever the deployment runs: a single
//! server (`redis://`, `rediss://`, `redis+unix://`), a Cluster (`redis+cluster://` or
//! `rediss+cluster://h1:p1,h2:p2`) or a Sentinel-managed master
//! (`redis+sentinel://s1:26379,s2:26379/<master>`, `rediss+sentinel://…`).
//!
//! Every store keeps each atomic operation to one key (or one hash tag), so what works
//! on one server works on a Cluster unchanged.

use std::sync::{Arc, Mutex, PoisonError};

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{Cmd, ConnectionAddr, ErrorKind, IntoConnectionInfo, Pipeline, RedisError, RedisFuture, Value};

use super::StoreError;
use crate::settings::StoreSettings;

/// Where the store's Redis is, read from `store.redis_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topology {
    /// One server, by its own URL.
    Single(String),
    /// Seed nodes of a Cluster, each as a `redis://` or `rediss://` URL.
    Cluster(Vec<String>),
    Sentinel {
        sentinels: Vec<(String, u16)>,
        master: String,
        tls: bool,
        /// From the URL's user info; for the data nodes, not the sentinels.
        username: Option<String>,
        password: Option<String>,
    },
}

impl Topology {
    pub fn parse(url: &str) -> Result<Self, String> {
        let (scheme, rest) = url.split_once("://").ok_or("is not a URL")?;
        let (tls, kind) = match scheme {
            "redis" | "rediss" | "redis+unix" | "unix" => return Ok(Self::Single(url.to_owned())),
            "redis+cluster" => (false, "cluster"),
            "rediss+cluster" => (true, "cluster"),
            "redis+sentinel" => (false, "sentinel"),
            "rediss+sentinel" => (true, "sentinel"),
            other => return Err(format!("has an unknown scheme `{other}`")),
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hosts) = match authority.rsplit_once('@') {
            Some((userinfo, hosts)) => (Some(userinfo), hosts),
            None => (None, authority),
        };
        let hosts: Vec<&str> = hosts.split(',').filter(|h| !h.is_empty()).collect();
        if hosts.is_empty() {
            return Err("names no host".into());
        }
        if kind == "cluster" {
            let node_scheme = if tls { "rediss" } else { "redis" };
            let credentials = userinfo.map(|u| format!("{u}@")).unwrap_or_default();
            let nodes = hosts
                .iter()
                .map(|h| format!("{node_scheme}://{credentials}{h}"))
                .collect();
            return Ok(Self::Cluster(nodes));
        }
        let master = path.trim_matches('/');
        if master.is_empty() || master.contains('/') {
            return Err("must end with the master's name: redis+sentinel://host:port,…/<master>".into());
        }
        let sentinels = hosts
            .iter()
            .map(|h| {
                let (host, port) = h.rsplit_once(':').unwrap_or((h, "26379"));
                let port = port.parse().map_err(|_| format!("has a bad port in `{h}`"))?;
                Ok((host.trim_start_matches('[').trim_end_matches(']').to_owned(), port))
            })
            .collect::<Result<_, String>>()?;
        let (username, password) = match userinfo.map(|u| u.split_once(':').unwrap_or((u, ""))) {
            Some((user, pass)) => (
                Some(user.to_owned()).filter(|u| !u.is_empty()),
                Some(pass.to_owned()).filter(|p| !p.is_empty()),
            ),
            None => (None, None),
        };
        Ok(Self::Sentinel {
            sentinels,
            master: master.to_owned(),
            tls,
            username,
            password,
        })
    }
}

/// A connection every Redis store uses: cheap to clone, connects lazily, reconnects on
/// its own, every command bounded by `store.response_timeout`.
#[derive(Clone)]
pub struct RedisConnection(Inner);

#[derive(Clone)]
enum Inner {
    Single(ConnectionManager),
    Cluster(Arc<LazyCluster>),
    Sentinel(Arc<SentinelMaster>),
}

impl std::fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            Inner::Single(_) => "RedisConnection(single)",
            Inner::Cluster(_) => "RedisConnection(cluster)",
            Inner::Sentinel(_) => "RedisConnection(sentinel)",
        })
    }
}

impl RedisConnection {
    /// Builds the connection `settings` describe; nothing is dialled until the first
    /// command, so a replica can start (and report not ready) while Redis is coming up.
    pub fn open(settings: &StoreSettings) -> Result<Self, StoreError> {
        let bad = |reason: String| StoreError::Unavailable(format!("store.redis_url {reason}"));
        let topology = Topology::parse(&settings.redis_url).map_err(bad)?;
        let certificates = settings.tls_certificates()?;
        let password = settings.password()?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(settings.connect_timeout))
            .set_response_timeout(Some(settings.response_timeout))
            .set_number_of_retries(1);
        Ok(Self(match topology {
            Topology::Single(url) => {
                let mut info = url.as_str().into_connection_info()?;
                if let Some(password) = &password {
                    let redis_settings = info.redis_settings().clone().set_password(password);
                    info = info.set_redis_settings(redis_settings);
                }
                let client = match certificates {
                    Some(certs) => redis::Client::build_with_tls(info, certs)?,
                    None => redis::Client::open(info)?,
                };
                Inner::Single(ConnectionManager::new_lazy_with_config(client, manager_config)?)
            }
            Topology::Cluster(nodes) => {
                let mut builder = ClusterClient::builder(nodes)
                    .connection_timeout(settings.connect_timeout)
                    .response_timeout(settings.response_timeout)
                    .retries(1);
                if let Some(certs) = certificates {
                    builder = builder.certs(certs);
                }
                if let Some(password) = &password {
                    builder = builder.password(password);
                }
                Inner::Cluster(Arc::new(LazyCluster {
                    client: builder.build()?,
                    connection: tokio::sync::OnceCell::new(),
                }))
            }
            Topology::Sentinel {
                sentinels,
                master,
                tls,
                username,
                password: url_password,
            } => {
                let addr = |(host, port): (String, u16)| match tls {
                    true => ConnectionAddr::TcpTls {
                        host,
                        port,
                        insecure: false,
                        tls_params: None,
                    },
                    false => ConnectionAddr::Tcp(host, port),
                };
                let mut builder =
                    SentinelClientBuilder::new(sentinels.into_iter().map(addr), master, SentinelServerType::Master)?;
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
                if let Some(username) = username {
                    builder = builder.set_client_to_redis_username(username);
                }
                if let Some(password) = password.or(url_password) {
                    builder = builder.set_client_to_redis_password(password);
                }
                Inner::Sentinel(Arc::new(SentinelMaster {
                    sentinel: tokio::sync::Mutex::new(builder.build()?),
                    current: Mutex::new(None),
                    config: manager_config,
                }))
            }
        }))
    }
}

/// A Cluster connection made on first use; it follows slot moves and node failures.
struct LazyCluster {
    client: ClusterClient,
    connection: tokio::sync::OnceCell<ClusterConnection>,
}

impl LazyCluster {
    async fn connection(&self) -> Result<ClusterConnection, RedisError> {
        self.connection
            .get_or_try_init(|| self.client.get_async_connection())
            .await
            .cloned()
    }
}

/// The master the sentinels name, asked again whenever it stops answering as one (it
/// died, or came back demoted after a failover).
struct SentinelMaster {
    sentinel: tokio::sync::Mutex<SentinelClient>,
    current: Mutex<Option<ConnectionManager>>,
    config: ConnectionManagerConfig,
}

impl SentinelMaster {
    async fn connection(&self) -> Result<ConnectionManager, RedisError> {
        if let Some(current) = self.current.lock().unwrap_or_else(PoisonError::into_inner).clone() {
            return Ok(current);
        }
        let client = self.sentinel.lock().await.async_get_client().await?;
        let manager = ConnectionManager::new_lazy_with_config(client, self.config.clone())?;
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(manager.clone());
        Ok(manager)
    }

    fn observe<T>(&self, result: Result<T, RedisError>) -> Result<T, RedisError> {
        if let Err(error) = &result {
            let demoted = matches!(error.kind(), ErrorKind::Server(redis::ServerErrorKind::ReadOnly));
            if demoted || error.is_io_error() || error.is_connection_refusal() || error.is_connection_dropped() {
                tracing::warn!(%error, "redis master unreachable or demoted: asking the sentinels again");
                *self.current.lock().unwrap_or_else(PoisonError::into_inner) = None;
            }
        }
        result
    }
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        let operation = operation_of(cmd);
        let call = self.send_command(cmd);
        Box::pin(observed(operation, call))
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        let call = self.send_pipeline(pipeline, offset, count);
        Box::pin(observed("PIPELINE".into(), call))
    }

    fn get_db(&self) -> i64 {
        match &self.0 {
            Inner::Single(manager) => manager.get_db(),
            Inner::Cluster(_) | Inner::Sentinel(_) => 0,
        }
    }
}

/// The command's name (`GET`, `EVALSHA`, …): a small fixed set, fit for a label.
fn operation_of(cmd: &Cmd) -> String {
    match cmd.args_iter().next() {
        Some(redis::Arg::Simple(name)) if name.len() <= 16 && name.iter().all(u8::is_ascii_alphabetic) => {
            String::from_utf8_lossy(name).to_ascii_uppercase()
        }
        _ => "OTHER".into(),
    }
}

/// One client span and one duration sample per command (errors counted too).
async fn observed<T>(operation: String, call: RedisFuture<'_, T>) -> Result<T, RedisError> {
    use tracing::Instrument as _;
    let span = tracing::info_span!(
        "redis",
        otel.name = %format!("redis {operation}"),
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
        // `db.system` is the name older semantic conventions (and many backends) use.
        db.system = "redis",
        db.system.name = "redis",
        db.operation.name = %operation,
    );
    let started = std::time::Instant::now();
    let result = call.instrument(span.clone()).await;
    let metric = crate::telemetry::metrics::REDIS_COMMAND_DURATION;
    if result.is_err() {
        span.record("otel.status_code", "ERROR");
        metrics::counter!(crate::telemetry::metrics::REDIS_ERRORS, "operation" => operation.clone()).increment(1);
    }
    metrics::histogram!(metric, "operation" => operation).record(started.elapsed().as_secs_f64());
    result
}

impl RedisConnection {
    fn send_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match &mut self.0 {
            Inner::Single(manager) => manager.req_packed_command(cmd),
            Inner::Cluster(cluster) => {
                let cluster = Arc::clone(cluster);
                Box::pin(async move { cluster.connection().await?.req_packed_command(cmd).await })
            }
            Inner::Sentinel(sentinel) => {
                let sentinel = Arc::clone(sentinel);
                Box::pin(async move {
                    let mut manager = sentinel.connection().await?;
                    let result = manager.req_packed_command(cmd).await;
                    sentinel.observe(result)
                })
            }
        }
    }

    fn send_pipeline<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match &mut self.0 {
            Inner::Single(manager) => manager.req_packed_commands(pipeline, offset, count),
            Inner::Cluster(cluster) => {
                let cluster = Arc::clone(cluster);
                Box::pin(async move {
                    cluster
                        .connection()
                        .await?
                        .req_packed_commands(pipeline, offset, count)
                        .await
                })
            }
            Inner::Sentinel(sentinel) => {
                let sentinel = Arc::clone(sentinel);
                Box::pin(async move {
                    let mut manager = sentinel.connection().await?;
                    let result = manager.req_packed_commands(pipeline, offset, count).await;
                    sentinel.observe(result)
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_topology() {
        assert_eq!(
            Topology::parse("rediss://:pw@redis.internal:6380/2"),
            Ok(Topology::Single("rediss://:pw@redis.internal:6380/2".into()))
        );
        assert_eq!(
            Topology::parse("rediss+cluster://:pw@a:7000,b:7001/"),
            Ok(Topology::Cluster(vec![
                "rediss://:pw@a:7000".into(),
                "rediss://:pw@b:7001".into()
            ]))
        );
        assert_eq!(
            Topology::parse("redis+sentinel://s1,s2:26380/mymaster"),
            Ok(Topology::Sentinel {
                sentinels: vec![("s1".into(), 26379), ("s2".into(), 26380)],
                master: "mymaster".into(),
                tls: false,
                username: None,
                password: None,
            })
        );
        for bad in [
            "redis+sentinel://s1:26379",
            "memcached://x",
            "redis+cluster://",
            "nothing",
        ] {
            assert!(Topology::parse(bad).is_err(), "{bad}");
        }
    }
}
