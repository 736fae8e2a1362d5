//! The three service binaries as processes on loopback, sharing a real Redis, internal
//! mutual TLS from a PKI made here, their stdout (logs, audit) kept in files, trace
//! export pointed wherever the test says.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use shared::testing::RedisServer;

/// One running service process.
#[derive(Debug)]
pub struct Process {
    pub name: &'static str,
    pub http: u16,
    pub grpc: u16,
    pub metrics: u16,
    child: Child,
    log: PathBuf,
}

impl Process {
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.http)
    }

    pub fn metrics_url(&self) -> String {
        format!("http://127.0.0.1:{}/metrics", self.metrics)
    }

    /// Everything the process has written to stdout and stderr so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then wait (telemetry flushes on the way out).
    pub fn terminate(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
pub struct System {
    pub jwks: Process,
    pub identity: Process,
    pub token: Process,
    pub dir: tempfile::TempDir,
    jwks_env: Vec<(String, String)>,
    jwks_ports: (u16, u16, u16),
    _redis: RedisServer,
}

fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("exe");
    let dir = exe.parent().and_then(Path::parent).expect("target/<profile>");
    let path = dir.join(name);
    assert!(path.exists(), "{} missing: build the workspace first", path.display());
    path
}

impl System {
    /// Starts jwks-, identity- and token-service; `env` is given to all three.
    pub fn start(env: &[(&str, String)]) -> Self {
        Self::start_configured(env, None)
    }

    /// Like [`Self::start`], with identity-service trusting `provider`.
    pub fn start_with_provider(env: &[(&str, String)], provider: &shared::testing::TestProvider) -> Self {
        let config = format!(
            "[[providers]]\nissuer = \"{}\"\njwks_uri = \"{}\"\n",
            provider.issuer, provider.jwks_uri
        );
        Self::start_configured(env, Some(config))
    }

    fn start_configured(env: &[(&str, String)], identity_config: Option<String>) -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let pki = dir.path().join("pki");
        let members: Vec<(&str, &[&str])> = shared::pki::MEMBERS.iter().map(|m| (*m, &[][..])).collect();
        shared::pki::generate(&members, "test", 1)
            .expect("pki")
            .write(&pki)
            .expect("write pki");
        std::fs::write(dir.path().join("pepper"), "test pepper, 32 bytes or more of it").expect("pepper");
        let redis = RedisServer::start();
        let store = redis.store_settings();
        // A reserved port can still be taken by another test's process before ours binds
        // it; then the whole system starts again on other ports.
        for _attempt in 0..3 {
            let ports: Vec<(u16, u16, u16)> = (0..3)
                .map(|_| {
                    (
                        shared::testing::reserve_port(),
                        shared::testing::reserve_port(),
                        shared::testing::reserve_port(),
                    )
                })
                .collect();
            let issuer = format!("http://127.0.0.1:{}", ports[1].0);
            let common = |(http, grpc, metrics): (u16, u16, u16)| {
                vec![
                    ("AGENTAUTH__PROFILE", "development".to_owned()),
                    ("AGENTAUTH__HTTP__HOST", "127.0.0.1".into()),
                    ("AGENTAUTH__HTTP__PORT", http.to_string()),
                    ("AGENTAUTH__GRPC__HOST", "127.0.0.1".into()),
                    ("AGENTAUTH__GRPC__PORT", grpc.to_string()),
                    ("AGENTAUTH__METRICS__LISTEN__HOST", "127.0.0.1".into()),
                    ("AGENTAUTH__METRICS__LISTEN__PORT", metrics.to_string()),
                    ("AGENTAUTH__STORE__BACKEND", "redis".into()),
                    ("AGENTAUTH__STORE__REDIS_URL", store.redis_url.clone()),
                    ("AGENTAUTH__STORE__KEY_PREFIX", store.key_prefix.clone()),
                    ("AGENTAUTH__INTERNAL_TLS__DIR", pki.display().to_string()),
                    (
                        "AGENTAUTH__HASH_PEPPER__FILE",
                        dir.path().join("pepper").display().to_string(),
                    ),
                    ("AGENTAUTH__PUBLIC_BASE_URL", issuer.clone()),
                    ("AGENTAUTH__SHUTDOWN__DRAIN_DELAY", "0s".into()),
                    (
                        "AGENTAUTH__MAIL__OUTBOX_DIR",
                        dir.path().join("outbox").display().to_string(),
                    ),
                    ("AGENTAUTH__CLIENT_ADDRESS__TRUSTED_PROXY_HOPS", "0".into()),
                    // Batches leave at once, so a test waits for nothing.
                    ("OTEL_BSP_SCHEDULE_DELAY", "50".into()),
                ]
            };
            let peer = |key: &'static str, port: u16, name: &str| {
                [
                    (key, format!("http://127.0.0.1:{port}")),
                    (server_name_key(key), name.to_owned()),
                ]
            };
            let jwks_env = common(ports[0]);
            let mut identity_env = common(ports[1]);
            if let Some(config) = &identity_config {
                let file = dir.path().join("identity.toml");
                std::fs::write(&file, config).expect("identity config");
                identity_env.push(("AGENTAUTH_CONFIG", file.display().to_string()));
            }
            identity_env.extend(peer("AGENTAUTH__JWKS__URL", ports[0].1, "jwks-service"));
            let mut token_env = common(ports[2]);
            token_env.extend(peer("AGENTAUTH__JWKS__URL", ports[0].1, "jwks-service"));
            token_env.extend(peer("AGENTAUTH__IDENTITY__URL", ports[1].1, "identity-service"));
            let with_env = |vars: Vec<(&str, String)>| {
                let mut vars: Vec<(String, String)> = vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
                vars.extend(env.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
                vars
            };
            let jwks_env = with_env(jwks_env);
            let spawn = |name: &'static str, vars: Vec<(String, String)>, ports| spawn(dir.path(), name, vars, ports);
            let mut started = [
                spawn("jwks-service", jwks_env.clone(), ports[0]),
                spawn("identity-service", with_env(identity_env), ports[1]),
                spawn("token-service", with_env(token_env), ports[2]),
            ];
            if started.iter().all(|p| wait_ready(p) == Readiness::Ready) {
                let [jwks, identity, token] = started;
                return Self {
                    jwks,
                    identity,
                    token,
                    jwks_env,
                    jwks_ports: ports[0],
                    dir,
                    _redis: redis,
                };
            }
            for process in &mut started {
                process.terminate();
            }
        }
        panic!("no free ports for the system in 3 attempts");
    }

    /// Stops jwks-service and starts it again on its ports with `extra` settings too;
    /// its new output goes to a second log.
    pub fn restart_jwks(&mut self, extra: &[(&str, String)]) {
        self.jwks.terminate();
        let mut vars = self.jwks_env.clone();
        vars.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        self.jwks = spawn(self.dir.path(), "jwks-service", vars, self.jwks_ports);
        assert_eq!(wait_ready(&self.jwks), Readiness::Ready, "{}", self.jwks.output());
    }

    /// Everything every process wrote, this run and earlier runs of jwks-service.
    pub fn all_output(&self) -> String {
        let mut all = String::new();
        for entry in std::fs::read_dir(self.dir.path()).expect("dir").filter_map(|e| e.ok()) {
            if entry.path().extension().is_some_and(|e| e == "log") {
                all.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
                all.push('\n');
            }
        }
        all
    }

    /// Stops Redis, as an outage would.
    pub fn kill_redis(&mut self) {
        self._redis.kill();
    }

    pub fn processes(&self) -> [&Process; 3] {
        [&self.jwks, &self.identity, &self.token]
    }

    pub fn terminate_all(&mut self) {
        for process in [&mut self.token, &mut self.identity, &mut self.jwks] {
            process.terminate();
        }
    }

    pub fn pki(&self) -> PathBuf {
        self.dir.path().join("pki")
    }
}

/// Starts `name` with exactly `vars` (and PATH); its output goes to `<dir>/<name>-N.log`.
fn spawn(
    dir: &Path,
    name: &'static str,
    vars: Vec<(String, String)>,
    (http, grpc, metrics): (u16, u16, u16),
) -> Process {
    let runs = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with(name))
                .count()
        })
        .unwrap_or(0);
    let log = dir.join(format!("{name}-{runs}.log"));
    let file = std::fs::File::create(&log).expect("log file");
    let child = Command::new(bin(name))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(vars)
        .stdin(Stdio::null())
        .stdout(file.try_clone().expect("log"))
        .stderr(file)
        .spawn()
        .expect("service starts");
    Process {
        name,
        http,
        grpc,
        metrics,
        child,
        log,
    }
}

fn server_name_key(url_key: &'static str) -> &'static str {
    match url_key {
        "AGENTAUTH__JWKS__URL" => "AGENTAUTH__JWKS__SERVER_NAME",
        _ => "AGENTAUTH__IDENTITY__SERVER_NAME",
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Readiness {
    Ready,
    /// It could not bind a port it was given: another process took it first.
    PortTaken,
}

fn wait_ready(process: &Process) -> Readiness {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = Command::new("curl")
            .args(["-sf", "-m", "1", "-o", "/dev/null", &process.url("/readyz")])
            .status()
            .is_ok_and(|s| s.success());
        if ready {
            return Readiness::Ready;
        }
        if process.output().contains("AddrInUse") {
            eprintln!(
                "{} lost a reserved port to another process; starting again",
                process.name
            );
            return Readiness::PortTaken;
        }
        assert!(
            Instant::now() < deadline,
            "{} not ready within 30 s:\n{}",
            process.name,
            process.output()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
