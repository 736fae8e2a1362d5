//! A real `redis-server` per test (or per test binary), on a unix socket in a temporary
//! directory: no fixed port, no server started by hand, gone when dropped.

mod provider;
mod sentinel;
mod topologies;
mod workload;

pub use provider::{TestKey, TestProvider};
pub use sentinel::{RedisSentinel, SENTINEL_MASTER};
pub use topologies::{RedisCluster, RedisTls};
pub use workload::TestWorkloadIssuer;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::settings::{StoreBackend, StoreSettings};

#[derive(Debug)]
pub struct RedisServer {
    child: Child,
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts `redis-server` and waits until its socket accepts connections.
    ///
    /// # Panics
    /// When `redis-server` is not installed or does not come up within 10 s: the test
    /// cannot mean anything without it.
    #[allow(clippy::expect_used, clippy::panic)]
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir for redis");
        let socket = dir.path().join("redis.sock");
        let child = Command::new("redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(&socket)
            .args(["--unixsocketperm", "700", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("redis-server must be installed (apt-get install redis-server)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            if Instant::now() > deadline {
                panic!("redis-server did not open {} within 10 s", socket.display());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Self {
            child,
            socket,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("redis+unix://{}", self.socket.display())
    }

    /// Store settings pointing at this server under a fresh key prefix, so tests sharing
    /// one server never see each other's keys.
    pub fn store_settings(&self) -> StoreSettings {
        StoreSettings {
            backend: StoreBackend::Redis,
            redis_url: self.url(),
            key_prefix: format!("test-{}:", protocol::secrets::random_token(6)),
            ..StoreSettings::default()
        }
    }

    /// How many keys the server holds, for tests that prove nothing was written.
    ///
    /// # Panics
    /// When the server cannot be reached.
    #[allow(clippy::expect_used)]
    pub fn key_count(&self) -> usize {
        let client = redis::Client::open(self.url()).expect("redis url");
        let mut conn = client.get_connection().expect("redis connection");
        redis::cmd("DBSIZE").query(&mut conn).expect("DBSIZE")
    }

    /// Stops the server, as an outage would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A service replica running in the background of a test; it stops when dropped.
#[derive(Debug)]
pub struct Running {
    pub http: std::net::SocketAddr,
    pub grpc: std::net::SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Running {
    /// Starts `app` on its already-bound listeners.
    pub fn start<S>(app: crate::serve::Application<S>) -> Self
    where
        S: crate::serve::Service + Sync + 'static,
    {
        let (http, grpc) = (app.http_addr(), app.grpc_addr());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Self {
            http,
            grpc,
            _stop: stop,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc)
    }
}

/// The internal PKI of a test process: every service and test client in it shares one
/// CA, so the mTLS path is what every test exercises.
#[derive(Debug)]
pub struct TestPki {
    dir: tempfile::TempDir,
}

/// A loopback TCP port free right now, for a process a test starts that must be told its
/// port up front. Taken below the kernel's ephemeral range (32768 and up on Linux), so
/// the outgoing connections of tests running beside it never land on it before the
/// process binds it, as a port from `bind(:0)` can.
#[allow(clippy::expect_used)]
pub fn reserve_port() -> u16 {
    const LOW: u16 = 20_000;
    const HIGH: u16 = 32_000;
    // Never the same port twice in one process, even before the first one is bound.
    static GIVEN: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut given = GIVEN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let start = protocol::secrets::random_bytes(2);
    let offset = u16::from_be_bytes([start[0], start[1]]) % (HIGH - LOW);
    let port = (0..HIGH - LOW)
        .map(|i| LOW + (offset + i) % (HIGH - LOW))
        .find(|port| !given.contains(port) && std::net::TcpListener::bind(("127.0.0.1", *port)).is_ok())
        .expect("a free loopback port below the ephemeral range");
    given.insert(port);
    port
}

/// The process-wide test PKI, generated on first use.
///
/// # Panics
/// When certificates cannot be generated or written.
#[allow(clippy::expect_used)]
pub fn pki() -> &'static TestPki {
    static PKI: std::sync::OnceLock<TestPki> = std::sync::OnceLock::new();
    PKI.get_or_init(|| {
        let dir = tempfile::tempdir().expect("pki dir");
        let members: Vec<(&str, &[&str])> = crate::pki::MEMBERS.iter().map(|m| (*m, &[][..])).collect();
        crate::pki::generate(&members, "test", 1)
            .expect("test PKI")
            .write(dir.path())
            .expect("write test PKI");
        TestPki { dir }
    })
}

impl TestPki {
    /// Internal-TLS settings for a service accepting `allowed_clients`.
    pub fn settings(&self, allowed_clients: &[&str]) -> crate::tls::InternalTlsSettings {
        crate::tls::InternalTlsSettings {
            dir: Some(self.dir.path().to_owned()),
            allowed_clients: allowed_clients.iter().map(|c| (*c).to_owned()).collect(),
        }
    }

    /// A peer at `addr` whose certificate names `server_name`.
    pub fn peer(&self, addr: std::net::SocketAddr, server_name: &str) -> crate::settings::PeerSettings {
        crate::settings::PeerSettings {
            server_name: Some(server_name.to_owned()),
            ..crate::settings::PeerSettings::new(&format!("https://{addr}"))
        }
    }

    /// The replicas at `addrs` (a list the test may change), dialled as `client` and
    /// expected to present `server_name`'s certificate, for unary calls.
    ///
    /// # Panics
    /// When `client` has no certificate in the test PKI.
    #[allow(clippy::expect_used)]
    pub fn replicas(
        &self,
        addrs: std::sync::Arc<std::sync::Mutex<Vec<std::net::SocketAddr>>>,
        client: &str,
        server_name: &str,
    ) -> crate::grpc::Replicas {
        let tls = crate::tls::InternalTls::from_dir(self.dir.path(), client, "test pki").expect("client cert");
        let template = crate::grpc::EndpointTemplate {
            tls: Some(tls.client_config(server_name)),
            connect_timeout: Duration::from_secs(1),
            request_timeout: Some(Duration::from_secs(2)),
            keep_alive: false,
        };
        let resolve: crate::grpc::Resolve = Box::new(move || {
            let now = addrs.lock().map(|a| a.clone()).unwrap_or_default();
            Box::pin(async move { Ok(now) })
        });
        crate::grpc::Replicas::spawn_with(server_name.to_owned(), resolve, template, Duration::from_secs(3600))
    }

    /// A channel to `addr` as the operator (agentctl's certificate), expecting `server_name`.
    ///
    /// # Panics
    /// When the channel cannot be set up.
    #[allow(clippy::expect_used)]
    pub fn channel(&self, addr: std::net::SocketAddr, server_name: &str) -> tonic::transport::Channel {
        let tls = crate::tls::InternalTls::from_dir(self.dir.path(), "agentctl", "test pki").expect("agentctl cert");
        crate::grpc::unary_channel(&self.peer(addr, server_name), "test", Some(&tls)).expect("channel")
    }
}
