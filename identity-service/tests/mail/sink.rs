use std::fs::File;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use tempfile::TempDir;

use crate::files_in;

/// aiosmtpd's Mailbox handler delivering into `<tmp>/maildir`; killed on drop. It binds
/// port 0 itself and prints the port once listening: no port race, no connect polling.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    pub tmp: TempDir,
}

const SINK: &str = r#"
import asyncio, sys
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import SMTP

class Sink(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("bounce@"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

async def main():
    handler = Sink(sys.argv[1])
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(handler, hostname="sink.test"), "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()

asyncio.run(main())
"#;

impl SmtpSink {
    pub fn start() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let log = File::create(tmp.path().join("sink.log")).expect("sink log");
        let mut child = Command::new("python3")
            .args(["-c", SINK])
            .arg(tmp.path().join("maildir"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("python3 must be installed");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_default();
        let Ok(port) = line.trim().parse() else {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(tmp.path().join("sink.log")).unwrap_or_default();
            panic!("the aiosmtpd sink did not start (`.ci/test` installs aiosmtpd): {log}");
        };
        Self { child, port, tmp }
    }

    pub fn delivered(&self) -> Vec<String> {
        files_in(&self.tmp.path().join("maildir").join("new"))
            .iter()
            .map(|path| std::fs::read_to_string(path).expect("read delivered message"))
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
