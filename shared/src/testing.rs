//! A real `redis-server` per test (or per test binary), on a unix socket in a temporary
//! directory: no fixed port, no server started by hand, gone when dropped.

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
            key_prefix: format!("test-{}:", crate::secrets::random_token(6)),
            ..StoreSettings::default()
        }
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
