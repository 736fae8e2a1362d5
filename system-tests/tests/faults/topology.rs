//! The local production topology (`deploy/local/up.sh`) as a test fixture: its own
//! network namespace, state directory and ingress port per test, the binaries this
//! build produced, torn down (`down.sh --purge`) when dropped.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The services, as `deploy/local` names them.
pub const JWKS: &str = "jwks-service";
pub const IDENTITY: &str = "identity-service";
pub const TOKEN: &str = "token-service";

#[derive(Debug)]
pub struct Topology {
    pub issuer: String,
    pub netns: String,
    state: tempfile::TempDir,
    port: u16,
    pub http: reqwest::Client,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

/// Where cargo put the service binaries of this build (`target/<profile>`).
fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/faults-<hash>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_owned();
    for name in [JWKS, IDENTITY, TOKEN, "agentctl"] {
        assert!(
            dir.join(name).exists(),
            "{} missing: build the workspace (cargo nextest run --workspace builds every binary)",
            dir.join(name).display()
        );
    }
    dir
}

fn script(name: &str) -> PathBuf {
    repo().join("deploy/local").join(name)
}

/// Runs a command to completion within `limit`, failing the test with its output if
/// it fails.
pub fn run(command: &mut Command, limit: Duration) -> Output {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("command starts");
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("output");
    assert!(
        output.status.success(),
        "{command:?} failed ({:?} after {:?}):\n{}\n{}",
        output.status,
        started.elapsed(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

impl Topology {
    /// Brings the topology up with `extra_env` (lines of `AGENTAUTH__…=value`) given to
    /// every replica, and waits until every replica is ready behind the ingress.
    pub fn up(extra_env: &[&str]) -> Self {
        assert_eq!(
            Command::new("id").arg("-u").output().expect("id").stdout,
            b"0\n",
            "the fault tests run the topology in a network namespace: they need root"
        );
        let state = tempfile::tempdir().expect("state dir");
        let port = shared::testing::reserve_port();
        let netns = format!(
            "aa{}",
            protocol::secrets::random_token(4)
                .to_lowercase()
                .replace(['-', '_'], "x")
        );
        let env_file = state.path().join("extra.env.in");
        std::fs::write(&env_file, extra_env.join("\n") + "\n").expect("extra env");
        let mut topology = Self {
            issuer: format!("https://127.0.0.1:{port}"),
            netns,
            port,
            http: reqwest::Client::new(),
            state,
        };
        let mut up = topology.command("up.sh");
        up.env("AGENTAUTH_BIN_DIR", bin_dir())
            .env("AGENTAUTH_EXTRA_ENV", &env_file);
        let started = Instant::now();
        run(&mut up, Duration::from_secs(90));
        println!("topology {} up in {:?}", topology.netns, started.elapsed());
        let ca = std::fs::read(topology.state.path().join("state/secrets/ingress/ca.pem")).expect("ingress CA");
        topology.http = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).expect("CA pem"))
            .https_only(true)
            .timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(64)
            .build()
            .expect("client");
        topology
    }

    fn command(&self, script_name: &str) -> Command {
        let mut command = Command::new("bash");
        command
            .arg(script(script_name))
            .env("AGENTAUTH_LOCAL_DIR", self.state.path().join("state"))
            .env("AGENTAUTH_NETNS", &self.netns)
            .env("AGENTAUTH_INGRESS_PORT", self.port.to_string());
        command
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// Stops replica `n` of `service` with `signal` (`TERM` drains, `KILL` does not)
    /// and waits for the process to exit.
    pub fn stop(&self, service: &str, n: u8, signal: &str) {
        let mut stop = self.command("replica.sh");
        stop.args(["stop", service, &n.to_string(), signal]);
        run(&mut stop, Duration::from_secs(45));
        assert!(
            !self.ready(service, n),
            "{service}-{n} still answers after it was stopped"
        );
    }

    /// Starts replica `n` of `service` and waits until it is ready and back in the
    /// ingress's rotation.
    pub fn start(&self, service: &str, n: u8) {
        let mut start = self.command("replica.sh");
        start.args(["start", service, &n.to_string()]);
        run(&mut start, Duration::from_secs(10));
        let mut wait = self.command("replica.sh");
        wait.args(["wait", service, &n.to_string()]);
        run(&mut wait, Duration::from_secs(40));
        self.wait_in_rotation(service, n);
    }

    /// `redis.sh stop|start|wait`; `kill` stops it with SIGKILL, as a crash would.
    pub fn redis(&self, action: &str) {
        if action == "kill" {
            let pid = std::fs::read_to_string(self.state.path().join("state/pids/redis")).expect("redis pid");
            run(Command::new("kill").args(["-9", pid.trim()]), Duration::from_secs(5));
            let deadline = Instant::now() + Duration::from_secs(5);
            while alive(pid.trim()) {
                assert!(Instant::now() < deadline, "redis survived SIGKILL");
                std::thread::sleep(Duration::from_millis(20));
            }
            return;
        }
        let mut redis = self.command("redis.sh");
        redis.arg(action);
        run(&mut redis, Duration::from_secs(20));
    }

    /// Runs a command inside the topology's network namespace.
    pub fn in_ns(&self, args: &[&str]) -> Output {
        run(
            Command::new("ip").args(["netns", "exec", &self.netns]).args(args),
            Duration::from_secs(20),
        )
    }

    /// Whether replica `n` of `service` answers `/readyz` with 200.
    pub fn ready(&self, service: &str, n: u8) -> bool {
        let url = format!("http://{}:8080/readyz", replica_addr(service, n));
        Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.netns,
                "curl",
                "-sf",
                "-m",
                "2",
                "-o",
                "/dev/null",
                &url,
            ])
            .status()
            .is_ok_and(|s| s.success())
    }

    pub fn secrets(&self) -> PathBuf {
        self.state.path().join("state/secrets")
    }

    /// What HAProxy's `show stat` says of each server: (backend/server, status).
    pub fn ingress_servers(&self) -> Vec<(String, String)> {
        let mut socket = UnixStream::connect(self.state.path().join("state/haproxy.sock")).expect("stats socket");
        socket.write_all(b"show stat\n").expect("write");
        let mut csv = String::new();
        socket.read_to_string(&mut csv).expect("read");
        csv.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let fields: Vec<&str> = l.split(',').collect();
                let (backend, server, status) = (fields.first()?, fields.get(1)?, fields.get(17)?);
                (!matches!(*server, "FRONTEND" | "BACKEND"))
                    .then(|| (format!("{backend}/{server}"), (*status).to_owned()))
            })
            .collect()
    }

    /// Waits until HAProxy routes to replica `n` of `service` again (its checks must
    /// pass `rise` times), so a rolling restart never leaves a backend empty.
    pub fn wait_in_rotation(&self, service: &str, n: u8) {
        let name = format!("{service}/{service}-{n}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if self
                .ingress_servers()
                .iter()
                .any(|(s, status)| *s == name && status == "UP")
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{name} not UP at the ingress: {:?}",
                self.ingress_servers()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        let mut down = self.command("down.sh");
        down.arg("--purge");
        let _ = down.stdout(Stdio::null()).stderr(Stdio::null()).status();
    }
}

/// Whether process `pid` still runs (a zombie waiting for its reaper does not).
fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with('Z')))
}

pub fn replica_addr(service: &str, n: u8) -> String {
    let net = match service {
        JWKS => 1,
        IDENTITY => 2,
        _ => 3,
    };
    format!("10.77.{net}.{n}")
}
