//! Real Redis topologies for contract tests: a 3-master Cluster, a Sentinel-managed
//! master, and a TLS-only server behind a private CA. Each runs `redis-server` processes
//! on loopback TCP ports found free, in a temporary directory, gone when dropped.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::settings::{StoreBackend, StoreSettings};

const START_LIMIT: Duration = Duration::from_secs(20);

/// Processes killed (and waited for) on drop.
#[derive(Debug, Default)]
pub(super) struct Processes(pub(super) Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A loopback port that is free now, with `port + offset` free too (a Cluster's bus).
#[allow(clippy::expect_used)]
pub(super) fn free_port(offset: u16) -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let both_free = port < 55_000 && (offset == 0 || TcpListener::bind(("127.0.0.1", port + offset)).is_ok());
        if both_free {
            return port;
        }
    }
}

#[allow(clippy::expect_used)]
pub(super) fn spawn(dir: &Path, args: &[String]) -> Child {
    Command::new("redis-server")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("redis-server must be installed (apt-get install redis-server)")
}

/// `redis-cli` against `127.0.0.1:port`, its output.
#[allow(clippy::expect_used)]
pub(super) fn cli(port: u16, extra: &[&str], args: &[&str]) -> String {
    let output = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(extra)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("redis-cli must be installed");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[allow(clippy::panic)]
pub(super) fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + START_LIMIT;
    while !ready() {
        if Instant::now() > deadline {
            panic!("{what} within {START_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub(super) fn settings(redis_url: String) -> StoreSettings {
    StoreSettings {
        backend: StoreBackend::Redis,
        redis_url,
        key_prefix: format!("test-{}:", protocol::secrets::random_token(6)),
        ..StoreSettings::default()
    }
}

/// Three masters, no replicas, every slot assigned.
#[derive(Debug)]
pub struct RedisCluster {
    pub ports: Vec<u16>,
    _processes: Processes,
    _dir: tempfile::TempDir,
}

impl RedisCluster {
    /// # Panics
    /// When the cluster cannot be formed within 20 s.
    #[allow(clippy::expect_used)]
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut processes = Processes::default();
        let ports: Vec<u16> = (0..3).map(|_| free_port(10_000)).collect();
        for port in &ports {
            let args = [
                "--port".into(),
                port.to_string(),
                "--bind".into(),
                "127.0.0.1".into(),
                "--cluster-enabled".into(),
                "yes".into(),
                "--cluster-config-file".into(),
                format!("nodes-{port}.conf"),
                "--save".into(),
                String::new(),
                "--appendonly".into(),
                "no".into(),
            ];
            processes.0.push(spawn(dir.path(), &args));
        }
        for port in &ports {
            wait_until("a cluster node answers", || cli(*port, &[], &["PING"]).contains("PONG"));
        }
        let nodes: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let mut create = vec!["--cluster", "create"];
        create.extend(nodes.iter().map(String::as_str));
        create.extend(["--cluster-replicas", "0", "--cluster-yes"]);
        cli(ports[0], &[], &create);
        for port in &ports {
            wait_until("the cluster is ok on every node", || {
                cli(*port, &[], &["CLUSTER", "INFO"]).contains("cluster_state:ok")
            });
        }
        Self {
            ports,
            _processes: processes,
            _dir: dir,
        }
    }

    /// `redis+cluster://` with every node as a seed, under a fresh key prefix.
    pub fn store_settings(&self) -> StoreSettings {
        let nodes: Vec<String> = self.ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        settings(format!("redis+cluster://{}", nodes.join(",")))
    }

    /// How many keys each master holds, to show the keys really spread over slots.
    pub fn keys_per_node(&self) -> Vec<usize> {
        self.ports
            .iter()
            .map(|p| cli(*p, &[], &["DBSIZE"]).trim().parse().unwrap_or(0))
            .collect()
    }
}

/// A server that speaks only TLS, with a certificate from a CA of its own.
#[derive(Debug)]
pub struct RedisTls {
    pub port: u16,
    ca_file: std::path::PathBuf,
    _processes: Processes,
    _dir: tempfile::TempDir,
}

impl RedisTls {
    /// # Panics
    /// When the server does not come up within 20 s.
    #[allow(clippy::expect_used)]
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let pki = crate::pki::generate(&[("redis", &[])], "test", 1).expect("pki");
        let server = &pki.members[0];
        let (ca_file, cert, key) = (
            dir.path().join("ca.pem"),
            dir.path().join("redis.pem"),
            dir.path().join("redis-key.pem"),
        );
        std::fs::write(&ca_file, &pki.ca.cert_pem).expect("ca");
        std::fs::write(&cert, &server.cert_pem).expect("cert");
        std::fs::write(&key, &server.key_pem).expect("key");
        let port = free_port(0);
        let mut processes = Processes::default();
        processes.0.push(spawn(
            dir.path(),
            &[
                "--port".into(),
                "0".into(),
                "--tls-port".into(),
                port.to_string(),
                "--bind".into(),
                "127.0.0.1".into(),
                "--tls-cert-file".into(),
                cert.display().to_string(),
                "--tls-key-file".into(),
                key.display().to_string(),
                "--tls-ca-cert-file".into(),
                ca_file.display().to_string(),
                "--tls-auth-clients".into(),
                "no".into(),
                "--save".into(),
                String::new(),
            ],
        ));
        let ca = ca_file.display().to_string();
        wait_until("the TLS server answers", || {
            cli(port, &["--tls", "--cacert", &ca], &["PING"]).contains("PONG")
        });
        Self {
            port,
            ca_file,
            _processes: processes,
            _dir: dir,
        }
    }

    /// `rediss://localhost:<port>` trusting the server's CA.
    pub fn store_settings(&self) -> StoreSettings {
        StoreSettings {
            tls_ca_file: Some(self.ca_file.clone()),
            ..settings(format!("rediss://localhost:{}", self.port))
        }
    }
}
