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
use redis::sentinel::SentinelClient;
use redis::{Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, Value};

use self::build::{SentinelUrl, cluster, sentinel_master, single};
use super::StoreError;
use super::topology::Topology;

mod build;
use crate::settings::StoreSettings;

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
            Topology::Single(url) => single(&url, certificates, password.as_deref(), manager_config)?,
            Topology::Cluster(nodes) => cluster(nodes, settings, certificates, password.as_deref())?,
            Topology::Sentinel {
                sentinels,
                master,
                tls,
                username,
                password: url_password,
            } => {
                let sentinel = SentinelUrl {
                    sentinels,
                    master,
                    tls,
                    username,
                };
                sentinel_master(sentinel, certificates, password.or(url_password), manager_config)?
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
