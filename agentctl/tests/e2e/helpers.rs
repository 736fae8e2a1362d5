//! The built `agentctl` binary as a child process, and bounded runs of the external
//! commands the tests drive (`agentctl`, `curl`, `python3`).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Generous for a debug build on a loaded 2-core runner; only a hang ever waits this long.
const STARTUP_LIMIT: Duration = Duration::from_secs(30);
/// Upper bound for any one-shot command; `curl` itself gives up after `--max-time`.
pub const COMMAND_LIMIT: Duration = Duration::from_secs(30);

pub fn agentctl() -> Command {
    Command::new(env!("CARGO_BIN_EXE_agentctl"))
}

/// A running `agentctl dev` on ephemeral ports; killed when dropped.
#[derive(Debug)]
pub struct DevServer {
    /// Base URL of every public route, as announced on stdout.
    pub http: String,
    /// Internal gRPC URL (the `--token-grpc` of `agentctl clients`), as announced.
    pub grpc: String,
    /// Discovery document URL, as announced.
    pub discovery: String,
    /// Where this server writes claim mails (`--outbox`).
    pub outbox: tempfile::TempDir,
    /// Where this server writes its internal PKI (`--tls-dir`); agentctl reads it there.
    pub tls: tempfile::TempDir,
    child: Child,
    /// The child's stderr log, printed when a test fails so the failure explains itself.
    log: Arc<Mutex<String>>,
}

impl DevServer {
    /// Starts `agentctl dev` on ephemeral ports with its own outbox, learns its addresses
    /// from the banner it prints once it is ready.
    pub fn start() -> Self {
        Self::start_with_env(&[])
    }

    /// Like [`Self::start`], with extra environment (say, `AGENTAUTH_CONFIG`).
    pub fn start_with_env(env: &[(&str, &str)]) -> Self {
        Self::start_with(&["--http", "127.0.0.1:0"], env)
    }

    /// Like [`Self::start_with_env`], with `args` (which include `--http`) added.
    pub fn start_with(args: &[&str], env: &[(&str, &str)]) -> Self {
        let outbox = tempfile::tempdir().expect("outbox dir");
        let tls = tempfile::tempdir().expect("tls dir");
        let mut child = agentctl()
            .envs(env.iter().copied())
            .args(["dev", "--grpc", "127.0.0.1:0"])
            .args(args)
            .arg("--outbox")
            .arg(outbox.path())
            .arg("--tls-dir")
            .arg(tls.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("agentctl binary built by cargo must start");
        let log = collect_lines(child.stderr.take().expect("stderr is piped"));
        let lines = forward_lines(child.stdout.take().expect("stdout is piped"));
        let banner = read_banner(&lines);
        Self {
            http: banner_field(&banner, "http"),
            grpc: banner_field(&banner, "grpc"),
            discovery: banner_field(&banner, "discovery"),
            outbox,
            tls,
            child,
            log,
        }
    }
}

impl DevServer {
    /// Sends SIGTERM, as Kubernetes would, and waits for the process to exit (a hang is
    /// bounded by nextest's slow-timeout).
    pub fn terminate(mut self) -> (std::process::ExitStatus, Duration) {
        let started = Instant::now();
        let kill = run(Command::new("kill").args(["-TERM", &self.child.id().to_string()]));
        assert!(kill.status.success(), "{}", describe(&kill));
        let status = self.child.wait().expect("agentctl dev exits");
        (status, started.elapsed())
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        // Errors only mean the child has already exited.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking()
            && let Ok(log) = self.log.lock()
        {
            eprintln!("--- agentctl dev stderr ---\n{log}");
        }
    }
}

/// Banner lines up to the discovery line, as `name -> first word of the value`
/// (`  grpc:      http://… (internal: …)` gives `grpc -> http://…`).
fn read_banner(lines: &Receiver<String>) -> HashMap<String, String> {
    let deadline = Instant::now() + STARTUP_LIMIT;
    let mut banner = HashMap::new();
    while !banner.contains_key("discovery") {
        let line = match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => panic!("agentctl dev printed no discovery line within {STARTUP_LIMIT:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("agentctl dev exited before printing its discovery line"),
        };
        let field = line.trim().split_once(':');
        if let Some((name, value)) = field
            && let Some(word) = value.split_whitespace().next()
        {
            banner.insert(name.to_owned(), word.to_owned());
        }
    }
    banner
}

fn banner_field(banner: &HashMap<String, String>, name: &str) -> String {
    banner
        .get(name)
        .unwrap_or_else(|| panic!("agentctl dev banner has no `{name}:` line: {banner:?}"))
        .clone()
}

/// Sends each line to the receiver, and keeps draining after it is gone so the child
/// never blocks on a full pipe.
fn forward_lines(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    receiver
}

fn collect_lines(pipe: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let log = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&log);
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if let Ok(mut log) = sink.lock() {
                log.push_str(&line);
                log.push('\n');
            }
        }
    });
    log
}

/// Runs a command to completion within [`COMMAND_LIMIT`].
pub fn run(command: &mut Command) -> Output {
    run_within(command, COMMAND_LIMIT)
}

/// Runs a command to completion; kills it and fails the test if it outlives `limit`.
/// A missing program fails the test too: CI installs every tool these tests need.
pub fn run_within(command: &mut Command, limit: Duration) -> Output {
    let spawned = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = spawned.unwrap_or_else(|error| panic!("cannot run {command:?} (is it installed?): {error}"));
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let stderr = thread::spawn(move || read_all(stderr));
        let stdout = read_all(stdout);
        let _ = sender.send((stdout, stderr.join().unwrap_or_default()));
    });
    match receiver.recv_timeout(limit) {
        Ok((stdout, stderr)) => Output {
            status: child.wait().expect("a child whose pipes closed can be waited on"),
            stdout,
            stderr,
        },
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} did not finish within {limit:?}");
        }
    }
}

fn read_all(mut pipe: impl Read) -> Vec<u8> {
    let mut bytes = Vec::new();
    let _ = pipe.read_to_end(&mut bytes);
    bytes
}

/// Both output streams, for assertion messages.
pub fn describe(output: &Output) -> String {
    format!(
        "{}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A string field of a JSON object, or a test failure naming what was missing.
pub fn str_field<'a>(value: &'a serde_json::Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` missing or not a string in {value}"))
}
