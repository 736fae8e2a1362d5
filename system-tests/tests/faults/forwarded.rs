//! A client cannot choose its rate-limit bucket by sending forwarding headers: through
//! the local HAProxy ingress, through Debian's nginx configured the way ingress-nginx
//! configures itself (it overwrites `X-Forwarded-For` and `X-Real-IP` and passes a
//! client's `Forwarded` through untouched), and through an nginx that appends to
//! `X-Forwarded-For` (as ingress-nginx with `compute-full-forwarded-for`, Envoy and
//! cloud load balancers do), every request from one client lands in one bucket. The
//! replicas run as `deploy/local` configures them: `client_address.trusted_proxy_hops = 1`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::topology::{IDENTITY, TOKEN, Topology, replica_addr};
use super::{COMMON, blocking};

/// Both per-address limits small enough to reach in a few requests.
const LIMIT: usize = 4;

fn env() -> Vec<String> {
    let mut env: Vec<String> = COMMON.iter().map(|s| (*s).to_owned()).collect();
    env.retain(|line| !line.contains("ANONYMOUS_REGISTRATIONS_PER_IP"));
    env.push(format!(
        "AGENTAUTH__RATE_LIMITS__ANONYMOUS_REGISTRATIONS_PER_IP__MAX={LIMIT}"
    ));
    env.push(format!("AGENTAUTH__CLIENT_REGISTRATION__PER_IP__MAX={LIMIT}"));
    env
}

/// Request `i`'s forged headers: a different claimed address in every one of them.
fn forged(i: usize) -> [(&'static str, String); 4] {
    [
        ("Forwarded", format!("for=198.51.100.{i};proto=https")),
        ("X-Forwarded-For", format!("203.0.113.{i}")),
        ("X-Real-IP", format!("192.0.2.{i}")),
        ("True-Client-IP", format!("198.18.0.{i}")),
    ]
}

/// The two paths with a per-address limit, and a body each accepts.
const PATHS: [(&str, &str); 2] = [
    ("/agent/identity", r#"{"type":"anonymous"}"#),
    (
        "/oauth2/register",
        r#"{"redirect_uris":["https://app.example.com/cb"],"token_endpoint_auth_method":"none","client_name":"forwarded test"}"#,
    ),
];

/// Sends `LIMIT + 2` requests to each path, each with other forged headers; the status
/// of each, in order.
fn statuses(mut send: impl FnMut(&str, &str, usize) -> u16) -> Vec<(String, Vec<u16>)> {
    PATHS
        .iter()
        .map(|(path, body)| {
            let codes = (0..LIMIT + 2).map(|i| send(path, body, i + 1)).collect();
            ((*path).to_owned(), codes)
        })
        .collect()
}

fn assert_one_bucket(ingress: &str, results: &[(String, Vec<u16>)]) {
    for (path, codes) in results {
        println!("{ingress} {path}: {codes:?}");
        let allowed = codes.iter().filter(|c| (200..300).contains(*c)).count();
        let limited = codes.iter().filter(|c| **c == 429).count();
        assert_eq!(
            (allowed, limited),
            (LIMIT, 2),
            "{ingress} {path}: forged headers must not open new buckets: {codes:?}"
        );
        assert!(codes[..LIMIT].iter().all(|c| (200..300).contains(c)), "{codes:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_forwarding_headers_choose_no_rate_limit_bucket() {
    let env = env();
    let env: Vec<&str> = env.iter().map(String::as_str).collect();
    let topology = blocking(|| Topology::up(&env));

    let mut haproxy = Vec::new();
    for (path, body) in PATHS {
        let mut codes = Vec::new();
        for i in 1..=LIMIT + 2 {
            let mut request = topology
                .http
                .post(topology.url(path))
                .header("Content-Type", "application/json")
                .body(body);
            for (name, value) in forged(i) {
                request = request.header(name, value);
            }
            codes.push(request.send().await.expect("answered").status().as_u16());
        }
        haproxy.push((path.to_owned(), codes));
    }
    assert_one_bucket("haproxy", &haproxy);

    for (address, forwarded_for, name) in [
        ("10.77.9.1", "$remote_addr", "nginx as ingress-nginx (overwrites)"),
        ("10.77.9.2", "$proxy_add_x_forwarded_for", "nginx appending"),
    ] {
        let nginx = blocking(|| Nginx::start(&topology, address, forwarded_for));
        let results = blocking(|| {
            statuses(|path, body, i| {
                let mut args = vec![
                    "curl".to_owned(),
                    "-s".into(),
                    "-o".into(),
                    "/dev/null".into(),
                    "-w".into(),
                    "%{http_code}".into(),
                    "-m".into(),
                    "10".into(),
                    "-H".into(),
                    "Content-Type: application/json".into(),
                    "--data".into(),
                    body.into(),
                ];
                for (header, value) in forged(i) {
                    args.extend(["-H".into(), format!("{header}: {value}")]);
                }
                args.push(format!("http://{address}:8081{path}"));
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let output = topology.in_ns(&args);
                String::from_utf8_lossy(&output.stdout)
                    .trim()
                    .parse()
                    .expect("a status code")
            })
        });
        drop(nginx);
        assert_one_bucket(name, &results);
    }
}

/// nginx inside the topology's namespace on `address:8081`, in front of both identity and
/// both token replicas, with the proxy headers ingress-nginx sets in every location
/// (`X-Forwarded-For` set to `forwarded_for`). Stopped when dropped.
struct Nginx(Child, tempfile::TempDir);

impl Nginx {
    fn start(topology: &Topology, address: &str, forwarded_for: &str) -> Self {
        let dir = tempfile::tempdir().expect("nginx dir");
        let upstream = |service: &str| {
            (1..=2)
                .map(|n| format!("server {}:8080;", replica_addr(service, n)))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let d = dir.path().display();
        let config = format!(
            r#"daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream identity {{ {identity} }}
    upstream token {{ {token} }}
    server {{
        listen {address}:8081;
        proxy_set_header X-Request-ID $request_id;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For {forwarded_for};
        proxy_set_header X-Forwarded-Host $http_host;
        proxy_set_header X-Forwarded-Port $server_port;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Scheme $scheme;
        proxy_set_header X-Original-Forwarded-For $http_x_forwarded_for;
        proxy_set_header Proxy "";
        location /agent/ {{ proxy_pass http://identity; }}
        location = /oauth2/register {{ proxy_pass http://token; }}
    }}
}}
"#,
            identity = upstream(IDENTITY),
            token = upstream(TOKEN),
        );
        let path = dir.path().join("nginx.conf");
        std::fs::write(&path, config).expect("nginx.conf");
        topology.in_ns(&["ip", "addr", "replace", &format!("{address}/32"), "dev", "lo"]);
        let child = Command::new("ip")
            .args(["netns", "exec", &topology.netns, "nginx", "-e"])
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts (apt-get install nginx-light)");
        let nginx = Self(child, dir);
        nginx.wait_listening(topology, address);
        nginx
    }

    fn wait_listening(&self, topology: &Topology, address: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let url = format!("http://{address}:8081/agent/identity");
        loop {
            let probe = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &topology.netns,
                    "curl",
                    "-s",
                    "-o",
                    "/dev/null",
                    "-m",
                    "1",
                    &url,
                ])
                .status();
            if probe.is_ok_and(|s| s.success()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "nginx did not listen on {address}:8081: {}",
                std::fs::read_to_string(Path::new(&self.1.path()).join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
