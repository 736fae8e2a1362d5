//! A Redis master watched by a sentinel, with a replica it can promote.

use std::path::Path;

use super::topologies::{Processes, cli, free_port, settings, spawn, wait_until};
use crate::settings::StoreSettings;

/// A master (and optionally a replica) watched by one sentinel (quorum 1).
#[derive(Debug)]
pub struct RedisSentinel {
    pub master_port: u16,
    pub sentinel_port: u16,
    pub replica_port: Option<u16>,
    _processes: Processes,
    _dir: tempfile::TempDir,
}

pub const SENTINEL_MASTER: &str = "agentauth";

impl RedisSentinel {
    /// # Panics
    /// When the sentinel does not know the master within 20 s.
    pub fn start() -> Self {
        Self::start_with(false)
    }

    /// With a replica the sentinel can promote.
    pub fn start_with_replica() -> Self {
        Self::start_with(true)
    }

    #[allow(clippy::expect_used)]
    fn start_with(replica: bool) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut processes = Processes::default();
        let master_port = free_port(0);
        processes.0.push(spawn(
            dir.path(),
            &[
                "--port".into(),
                master_port.to_string(),
                "--bind".into(),
                "127.0.0.1".into(),
                "--save".into(),
                String::new(),
            ],
        ));
        wait_until("the master answers", || {
            cli(master_port, &[], &["PING"]).contains("PONG")
        });
        let replica_port = replica.then(|| start_replica(dir.path(), master_port, &mut processes));
        let sentinel_port = start_sentinel(dir.path(), master_port, &mut processes);
        Self {
            master_port,
            sentinel_port,
            replica_port,
            _processes: processes,
            _dir: dir,
        }
    }

    pub fn store_settings(&self) -> StoreSettings {
        settings(format!(
            "redis+sentinel://127.0.0.1:{}/{SENTINEL_MASTER}",
            self.sentinel_port
        ))
    }

    /// Promotes the replica (`SENTINEL FAILOVER`), retried until the sentinel has seen it,
    /// and waits until the sentinel names it master and the old master has been demoted.
    ///
    /// # Panics
    /// Without a replica, or when the failover does not happen within 20 s.
    #[allow(clippy::expect_used)]
    pub fn fail_over(&self) {
        let replica = self.replica_port.expect("started with a replica");
        wait_until("the sentinel accepts the failover", || {
            cli(self.sentinel_port, &[], &["SENTINEL", "FAILOVER", SENTINEL_MASTER]).contains("OK")
        });
        wait_until("the sentinel names the replica master", || {
            cli(
                self.sentinel_port,
                &[],
                &["SENTINEL", "get-master-addr-by-name", SENTINEL_MASTER],
            )
            .contains(&replica.to_string())
        });
        wait_until("the old master is demoted", || {
            cli(self.master_port, &[], &["INFO", "replication"]).contains("role:slave")
        });
    }
}

/// A replica of the master on a port of its own, in sync before it returns.
fn start_replica(dir: &Path, master_port: u16, processes: &mut Processes) -> u16 {
    let port = free_port(0);
    let args = [
        "--port".into(),
        port.to_string(),
        "--bind".into(),
        "127.0.0.1".into(),
        "--save".into(),
        String::new(),
        "--replicaof".into(),
        "127.0.0.1".into(),
        master_port.to_string(),
    ];
    processes.0.push(spawn(dir, &args));
    wait_until("the replica is in sync", || {
        cli(port, &[], &["INFO", "replication"]).contains("master_link_status:up")
    });
    port
}

/// A sentinel watching the master, once it names it.
#[allow(clippy::expect_used)]
fn start_sentinel(dir: &Path, master_port: u16, processes: &mut Processes) -> u16 {
    let sentinel_port = free_port(0);
    let conf = dir.join("sentinel.conf");
    std::fs::write(
        &conf,
        format!(
            "port {sentinel_port}\nbind 127.0.0.1\nsentinel monitor {SENTINEL_MASTER} 127.0.0.1 {master_port} 1\n\
             sentinel down-after-milliseconds {SENTINEL_MASTER} 1000\n"
        ),
    )
    .expect("sentinel.conf");
    processes
        .0
        .push(spawn(dir, &[conf.display().to_string(), "--sentinel".into()]));
    wait_until("the sentinel names the master", || {
        cli(
            sentinel_port,
            &[],
            &["SENTINEL", "get-master-addr-by-name", SENTINEL_MASTER],
        )
        .contains(&master_port.to_string())
    });
    sentinel_port
}
