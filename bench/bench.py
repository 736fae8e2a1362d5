#!/usr/bin/env python3
"""The benchmark of agentauth, with its comparison rows, in one run.

    bench/bench.py [--systems dev,dev-redis,topology] [--agents 10000] [--runs 3]
                   [--duration 10s] [--connections 32] [--peer 'START_CMD' REGISTER_URL TOKEN_URL]
                   [--no-oidc-provider] [--scale 1000000] [--baseline BIN_DIR] [--json FILE]
                   [--trace]

It builds release (unless --bin-dir), then for each system:
  dev         `agentctl dev`, in-memory store
  dev-redis   `agentctl dev --redis-url` against a redis-server of its own
  topology    deploy/local/up.sh (separate processes, mTLS, Redis, HAProxy; needs root),
              driven at token-service directly (inside the namespace) and through the
              ingress
it registers --agents distinct anonymous agents, and drives each path with wrk
(bench/wrk.lua): the jwt-bearer exchange cycling the agents, client_credentials, the
DPoP-bound exchange (a fresh proof per request), JWKS GET, anonymous registration and
introspection. Each path runs --runs times; the line shows the median run: requests/s,
p50, p99, answers that were not 2xx by status, server CPU per request (utime + stime of
every server process, Redis and HAProxy included, from /proc) and their RSS after the run.
A line under it splits that CPU per process kind: each service (replicas summed),
redis-server and haproxy in the topology; agentctl as a whole in the dev runner, whose
threads are not named per service; a peer's processes by name. --json rows carry it as
cpu_us_by_process.

Comparison rows come from the same run: panva's oidc-provider (npm, bench/peers) for
client_credentials and JWKS, and for the exchange each --peer: START_CMD is run by the
shell in a session of its own (its processes are what is measured), REGISTER_URL takes
POST {"type":"anonymous"} and answers {"identity_assertion": ...}, TOKEN_URL takes the
RFC 7523 jwt-bearer form.

--scale N (dev-redis only) fills the store to N registrations after the paths and runs
the exchange again, for the rate and Redis memory at that size. --baseline BIN_DIR runs
every agentauth system once more with another build's binaries, for a before/after
table from one run, per process too. --trace has the dev systems export traces (sample ratio 0.1, the
production setting) to bench/otlp_sink.py, which counts the spans.

Needs: wrk, curl, redis-server, python3 with cryptography, node + npm (oidc-provider);
for topology also haproxy, openssl, iproute2 and root.
"""

import argparse
import base64
import concurrent.futures
import json
import os
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
TICK = os.sysconf("SC_CLK_TCK")
JWT_BEARER = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
NS = "agentauth-bench"


def log(message):
    print(message, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- processes


def cpu_seconds(pid):
    """utime + stime of the process (every thread of it), or None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


def cpu_snapshot(processes):
    """{pid: (kind, CPU seconds)} for every live pid of {kind: [pid, ...]}."""
    snapshot = {}
    for kind, pids in processes.items():
        for pid in pids:
            seconds = cpu_seconds(pid)
            if seconds is not None:
                snapshot[pid] = (kind, seconds)
    return snapshot


def cpu_us_by_process(before, after, requests):
    """CPU µs per request of each process kind between two snapshots, replicas summed.
    Deltas are taken per pid, so a process that exited in between (its CPU is gone from
    /proc) cannot make a kind negative; one that started in between counts whole."""
    seconds = {kind: 0.0 for kind, _ in before.values()}
    for pid, (kind, now) in after.items():
        seconds[kind] = seconds.get(kind, 0.0) + now - before.get(pid, (kind, 0.0))[1]
    return {kind: round(s * 1e6 / max(requests, 1), 2) for kind, s in ordered(seconds).items()}


# The order of the per-process breakdown: the services as a request meets them, then
# what they lean on. Kinds not listed (a peer's processes) follow by name.
PROCESS_ORDER = ("agentctl", "jwks-service", "identity-service", "token-service", "redis-server", "haproxy")


def ordered(by_kind):
    rank = {kind: i for i, kind in enumerate(PROCESS_ORDER)}
    return dict(sorted(by_kind.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))


def comm(pid):
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except (FileNotFoundError, ProcessLookupError):
        return "?"


def rss_mb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


def session_pids(sid):
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == sid:
                    pids.append(int(entry.name))
            except (ProcessLookupError, PermissionError):
                pass
    return pids


def session_processes(sid):
    """The session's processes by executable name (a peer's node, its shell if any)."""
    processes = {}
    for pid in session_pids(sid):
        processes.setdefault(comm(pid), []).append(pid)
    return processes


def http(url, data=None, headers=None, context=None, timeout=10):
    request = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
        return response.status, response.read()


def wait_for(check, what, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, urllib.error.URLError, ValueError):
            pass
        time.sleep(0.005)
    raise SystemExit(f"{what} did not come up within {seconds} s")


# ---------------------------------------------------------------- systems


class System:
    """What a path needs to drive one running system."""

    label = ""
    public = ""  # the issuer: registration, discovery, proofs' htu
    target = ""  # where wrk sends requests (token-service directly, or the ingress)
    context = None  # TLS context for https (the ingress CA)
    wrk_prefix = ()  # to run wrk elsewhere (inside the namespace)
    paths = ("exchange", "dpop", "client_credentials", "introspect", "jwks", "register")

    def processes(self):
        """The server's processes by kind, {kind: [pid, ...]}: what CPU and RSS count."""
        return {}

    def pids(self):
        return [pid for pids in self.processes().values() for pid in pids]

    def redis_used_memory(self):
        return None

    def clients_create(self, args):
        raise NotImplementedError

    def register_url(self):
        return f"{self.public}/agent/identity"

    def token_url(self):
        return f"{self.target}/oauth2/token"

    def url(self, path):
        """Where wrk sends `path` (one address for every service, but in the topology)."""
        return f"{self.target}{path}"

    def stop(self):
        pass


class Dev(System):
    def __init__(self, bin_dir, work, redis, label, trace):
        self.label = label
        self.work = work
        self.http_port, self.grpc_port = free_port(), free_port()
        self.public = self.target = f"http://127.0.0.1:{self.http_port}"
        self.redis = None
        args = [
            str(bin_dir / "agentctl"), "dev",
            "--http", f"127.0.0.1:{self.http_port}", "--grpc", f"127.0.0.1:{self.grpc_port}",
            "--tls-dir", str(work / "tls"), "--outbox", str(work / "outbox"),
        ]
        self.sink = None
        if trace:
            # Traces exported as in production (sample ratio 0.1) to a collector that
            # counts spans (python grpcio + opentelemetry-proto).
            sink_port = free_port()
            self.sink = subprocess.Popen([sys.executable, str(BENCH / "otlp_sink.py"), str(sink_port),
                                          str(work / "spans")], stderr=subprocess.DEVNULL)
            args += ["--otlp-endpoint", f"http://127.0.0.1:{sink_port}", "--trace-sample-ratio", "0.1"]
        if redis:
            self.redis_port = free_port()
            self.redis = subprocess.Popen(
                ["redis-server", "--port", str(self.redis_port), "--save", "", "--appendonly", "no",
                 "--bind", "127.0.0.1"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_for(lambda: self.redis_cli("ping") == "PONG", "redis-server")
            args += ["--redis-url", f"redis://127.0.0.1:{self.redis_port}"]
        env = dict(os.environ, AGENTAUTH__RATE_LIMITS__ANONYMOUS_REGISTRATIONS_PER_IP__MAX="1000000000",
                   RUST_LOG="info")
        started = time.monotonic()
        self.process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL,
                                        stderr=open(work / "dev.log", "wb"))
        wait_for(lambda: http(f"{self.public}/readyz", timeout=1)[0] == 200, "agentctl dev")
        self.ready_ms = (time.monotonic() - started) * 1000
        time.sleep(1)
        self.idle = {"agentctl dev": rss_mb(self.process.pid)}

    def redis_cli(self, *args, stdin=None):
        out = subprocess.run(["redis-cli", "-p", str(self.redis_port), *args], capture_output=True, text=True,
                             input=stdin)
        return out.stdout.strip()

    def processes(self):
        # One process for the three services: its threads are not named per service
        # (actix workers and tokio's runtime serve all three), so it cannot be split.
        return {"agentctl": [self.process.pid], **({"redis-server": [self.redis.pid]} if self.redis else {})}

    def registrations(self):
        """How many registration records Redis holds (a full SCAN)."""
        keys = subprocess.run(["redis-cli", "-p", str(self.redis_port), "--scan",
                               "--pattern", "agentauth:identity:reg:*"], capture_output=True, text=True).stdout
        return keys.count("\n")

    def redis_used_memory(self):
        if not self.redis:
            return None
        info = self.redis_cli("info", "memory")
        return int(next(l.split(":")[1] for l in info.splitlines() if l.startswith("used_memory:")))

    def clients_create(self, args):
        out = subprocess.run(
            [str(self.bin_dir_agentctl()), "clients", "create", *args, "--json",
             "--token-grpc", f"http://127.0.0.1:{self.grpc_port}", "--tls-dir", str(self.work / "tls")],
            capture_output=True, text=True, check=True)
        return json.loads(out.stdout)

    def bin_dir_agentctl(self):
        return Path(self.process.args[0])

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        if self.redis:
            self.redis.kill()
            self.redis.wait()
        if self.sink:
            time.sleep(2)
            spans = (self.work / "spans").read_text().strip() if (self.work / "spans").exists() else "0"
            print(f"# {self.label}: the collector received {spans} spans", flush=True)
            self.sink.kill()
            self.sink.wait()


class Topology:
    """deploy/local/up.sh, one replica of each service unless --replicas."""

    def __init__(self, bin_dir, work, replicas):
        self.bin_dir = bin_dir
        self.state = work / "local"
        self.port = free_port()
        extra = work / "extra.env"
        extra.write_text("AGENTAUTH__RATE_LIMITS__ANONYMOUS_REGISTRATIONS_PER_IP__MAX=1000000000\n")
        self.env = dict(os.environ, AGENTAUTH_LOCAL_DIR=str(self.state), AGENTAUTH_INGRESS_PORT=str(self.port),
                        AGENTAUTH_NETNS=NS, AGENTAUTH_BIN_DIR=str(bin_dir), AGENTAUTH_EXTRA_ENV=str(extra),
                        AGENTAUTH_REPLICAS=str(replicas))
        subprocess.run(["bash", str(ROOT / "deploy/local/up.sh")], env=self.env, check=True,
                       stdout=subprocess.DEVNULL)
        self.issuer = f"https://127.0.0.1:{self.port}"
        self.context = ssl.create_default_context(cafile=str(self.state / "secrets/ingress/ca.pem"))
        time.sleep(1)
        self.idle = {p.name: rss_mb(int(p.read_text())) for p in sorted((self.state / "pids").iterdir())
                     if p.name.split("-")[0] in ("jwks", "identity", "token")}
        self.ready_ms = self.readiness_times()

    def in_ns(self, *args, **kwargs):
        return subprocess.run(["ip", "netns", "exec", NS, *args], **kwargs)

    def readiness_times(self):
        """Restarts replica 1 of each service and times it to a 200 from /readyz."""
        times = {}
        for service, net in (("jwks-service", 1), ("identity-service", 2), ("token-service", 3)):
            replica = ROOT / "deploy/local/replica.sh"
            subprocess.run(["bash", str(replica), "stop", service, "1"], env=self.env, check=True,
                           stdout=subprocess.DEVNULL)
            started = time.monotonic()
            subprocess.run(["bash", str(replica), "start", service, "1"], env=self.env, check=True,
                           stdout=subprocess.DEVNULL)
            url = f"http://10.77.{net}.1:8080/readyz"
            while True:
                probe = self.in_ns("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url,
                                   capture_output=True, text=True)
                if probe.stdout == "200":
                    break
                if time.monotonic() - started > 60:
                    raise SystemExit(f"{service} replica 1 not ready after a restart")
                time.sleep(0.005)
            times[service] = (time.monotonic() - started) * 1000
        time.sleep(1)
        return times

    def processes(self):
        """Every process of the topology by kind, replicas together (pid files are named
        SERVICE-N, redis and haproxy). HAProxy counts in the direct view too: idle there
        but for its health checks, which the breakdown shows."""
        processes = {}
        for p in (self.state / "pids").iterdir():
            service, _, replica = p.name.rpartition("-")
            kind = service if replica.isdigit() else {"redis": "redis-server"}.get(p.name, p.name)
            processes.setdefault(kind, []).append(int(p.read_text()))
        return processes

    def redis_cli(self, *args, stdin=None):
        password = (self.state / "secrets/redis-password").read_text().strip()
        return self.in_ns("redis-cli", "-h", "10.77.0.10", "--no-auth-warning", "-a", password, *args,
                          capture_output=True, text=True, input=stdin).stdout.strip()

    def redis_used_memory(self):
        info = self.redis_cli("info", "memory")
        return int(next(l.split(":")[1] for l in info.splitlines() if l.startswith("used_memory:")))

    def clients_create(self, args):
        out = self.in_ns(str(self.bin_dir / "agentctl"), "clients", "create", *args, "--json",
                         "--token-grpc", "http://token-service:50051",
                         "--tls-dir", str(self.state / "secrets/internal-tls"),
                         capture_output=True, text=True, check=True)
        return json.loads(out.stdout)

    def stop(self):
        subprocess.run(["bash", str(ROOT / "deploy/local/down.sh"), "--purge"], env=self.env,
                       stdout=subprocess.DEVNULL)


class TopologyView(System):
    def __init__(self, topology, ingress):
        self.topology = topology
        self.ingress = ingress
        self.label = "topology, ingress" if ingress else "topology, direct"
        self.public = topology.issuer
        self.context = topology.context
        if ingress:
            self.target = topology.issuer
        else:
            self.target = "http://10.77.3.1:8080"
            self.wrk_prefix = ("ip", "netns", "exec", NS)

    def url(self, path):
        if self.ingress:
            return f"{self.target}{path}"
        # Directly at the service that serves the path (replica 1 of each).
        net = 1 if path.startswith("/.well-known/jwks") else 2 if path.startswith("/agent/") else 3
        return f"http://10.77.{net}.1:8080{path}"

    def processes(self):
        return self.topology.processes()

    def redis_used_memory(self):
        return self.topology.redis_used_memory()

    def redis_cli(self, *args, stdin=None):
        return self.topology.redis_cli(*args, stdin=stdin)

    def clients_create(self, args):
        return self.topology.clients_create(args)


class Peer(System):
    """A server given as --peer: the exchange only."""

    paths = ("exchange",)

    def __init__(self, command, register, token, index):
        self.label = f"peer {index}"
        self.command = command
        self.register, self.token = register, token
        self.public = register
        self.process = subprocess.Popen(command, shell=True, start_new_session=True,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started = time.monotonic()
        wait_for(lambda: register_one(register, None) is not None, f"peer {command!r}")
        self.ready_ms = (time.monotonic() - started) * 1000
        self.idle = {}

    def register_url(self):
        return self.register

    def token_url(self):
        return self.token

    def processes(self):
        return session_processes(self.process.pid)

    def stop(self):
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)


class OidcProvider(System):
    """panva's oidc-provider (bench/peers/oidc-provider.mjs): client_credentials, JWKS."""

    paths = ("client_credentials", "jwks")
    label = "oidc-provider"

    def __init__(self, work):
        peers = BENCH / "peers"
        if not (peers / "node_modules/oidc-provider").exists():
            subprocess.run(["npm", "ci", "--silent", "--no-audit", "--no-fund"], cwd=peers, check=True)
        port = free_port()
        self.public = self.target = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(["node", str(peers / "oidc-provider.mjs"), str(port)],
                                        start_new_session=True, stdout=subprocess.PIPE,
                                        stderr=open(work / "oidc-provider.log", "wb"), text=True)
        started = time.monotonic()
        self.secret = json.loads(self.process.stdout.readline())
        wait_for(lambda: http(f"{self.public}/jwks", timeout=1)[0] == 200, "oidc-provider")
        self.ready_ms = (time.monotonic() - started) * 1000
        self.idle = {"oidc-provider": rss_mb(self.process.pid)}

    def jwks_url(self):
        return f"{self.target}/jwks"

    def token_url(self):
        return f"{self.target}/token"

    def processes(self):
        return session_processes(self.process.pid)

    def stop(self):
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


# ---------------------------------------------------------------- load material


def register_one(url, context):
    status, body = http(url, b'{"type":"anonymous"}', {"Content-Type": "application/json"}, context)
    answer = json.loads(body)
    return answer.get("identity_assertion") or answer.get("assertion")


def register_agents(system, count):
    url = system.register_url()
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        return list(pool.map(lambda _: register_one(url, system.context), range(count)))


def basic(client_id, secret):
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def dpop_proofs(htu, count, path):
    subprocess.run([sys.executable, str(BENCH / "agents.py"), "proofs", htu, str(count)],
                   stdout=open(path, "w"), check=True)


# ---------------------------------------------------------------- driving


def wrk(system, url, args, env, duration):
    command = [*system.wrk_prefix, "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{duration}",
               "--timeout", "5s", "-s", str(BENCH / "wrk.lua"), url]
    before = cpu_snapshot(system.processes())
    out = subprocess.run(command, env=dict(os.environ, THREADS=str(args.threads), **env),
                         capture_output=True, text=True)
    after = cpu_snapshot(system.processes())
    line = next((l for l in out.stdout.splitlines() if l.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no result for {url}:\n{out.stdout}\n{out.stderr}")
    result = json.loads(line[len("RESULT "):])
    result["cpu_us_by_process"] = cpu_us_by_process(before, after, result["requests"])
    result["cpu_us"] = sum(result["cpu_us_by_process"].values())
    result["rss_mb"] = sum(rss_mb(p) for p in system.pids())
    return result


def drive(system, path, material, args, work):
    """Runs one path --runs times; returns the median run (by rate) and all rates."""
    url = system.token_url()
    env = {}
    proofs = None
    if path == "exchange":
        env = {"BODIES": str(material["exchange"])}
    elif path == "dpop":
        env = {"BODIES": str(material["exchange"])}
        proofs = work / "proofs"
    elif path == "client_credentials":
        env = {"BODY": "grant_type=client_credentials", "AUTHORIZATION": material["client"]}
    elif path == "introspect":
        url = system.url("/oauth2/introspect")
        env = {"BODIES": str(material["introspect"]), "AUTHORIZATION": material["resource_server"]}
    elif path == "jwks":
        url = system.jwks_url() if hasattr(system, "jwks_url") else system.url("/.well-known/jwks.json")
        env = {"METHOD": "GET"}
    elif path == "register":
        url = system.url("/agent/identity")
        env = {"BODY": '{"type":"anonymous"}', "CONTENT_TYPE": "application/json"}
    if path not in ("jwks",):
        env.setdefault("CONTENT_TYPE", "application/x-www-form-urlencoded")
    runs = []
    for _ in range(args.runs):
        if proofs:
            dpop_proofs(f"{system.public}/oauth2/token", args.proofs, proofs)
            env["DPOP"] = str(proofs)
        memory_before = system.redis_used_memory() if path == "register" else None
        result = wrk(system, url, args, env, args.duration)
        if memory_before is not None:
            created = sum(v for k, v in result["statuses"].items() if k.startswith("2"))
            result["redis_bytes_per_registration"] = (system.redis_used_memory() - memory_before) / max(created, 1)
            result["redis_record_bytes"] = record_bytes(system)
        runs.append(result)
    runs.sort(key=lambda r: r["rate"])
    median = dict(runs[len(runs) // 2])
    median["rates"] = [round(r["rate"]) for r in runs]
    return median


def record_bytes(system, sample=200):
    """Redis's MEMORY USAGE of registration records (key, value, overhead), averaged over
    a sample: what a registration keeps once the rate limiter's window has passed."""
    keys = system.redis_cli("--scan", "--pattern", "agentauth:identity:reg:*").split()[:sample]
    sizes = system.redis_cli(stdin="".join(f"MEMORY USAGE {k}\n" for k in keys)).split()
    sizes = [int(x) for x in sizes if x.isdigit()]
    return sum(sizes) / len(sizes) if sizes else None


def errors_of(statuses):
    bad = {k: v for k, v in statuses.items() if not k.startswith("2")}
    return ",".join(f"{k}:{v}" for k, v in sorted(bad.items())) or "0"


def print_row(label, path, r):
    extra = ""
    if "redis_bytes_per_registration" in r:
        extra = f"  {r['redis_bytes_per_registration']:.0f} B Redis/registration"
    if r.get("redis_record_bytes"):
        extra += f" (the record itself {r['redis_record_bytes']:.0f} B)"
    print(f"{label:<22} {path:<19} {r['rate']:>9,.0f}/s  p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  "
          f"errors {errors_of(r['statuses']):<12} {r['cpu_us']:7.1f} µs CPU/req  RSS {r['rss_mb']:6.1f} MB"
          f"  runs {r['rates']}{extra}", flush=True)
    print(f"{'':<22} {'':<19} cpu µs/req: {breakdown(r['cpu_us_by_process'])}", flush=True)


def breakdown(by_process, old=None):
    """`token-service 61.2 · redis-server 9.0`, or with `old` each as `before → after`."""
    if old is None:
        return " · ".join(f"{kind} {us:.1f}" for kind, us in by_process.items())
    kinds = ordered({**dict.fromkeys(old), **dict.fromkeys(by_process)})
    return " · ".join(f"{kind} {old.get(kind, 0):.1f} → {by_process.get(kind, 0):.1f}" for kind in kinds)


def prepare(system, args, work):
    log(f"{system.label}: registering {args.agents} agents")
    started = time.monotonic()
    assertions = register_agents(system, args.agents)
    log(f"{system.label}: {len(assertions)} agents in {time.monotonic() - started:.1f} s")
    exchange = work / f"exchange-{abs(hash(system.label))}"
    exchange.write_text("".join(f"grant_type={JWT_BEARER}&assertion={a}\n" for a in assertions))
    material = {"exchange": exchange}
    if "client_credentials" in system.paths and not isinstance(system, OidcProvider):
        client = system.clients_create(["--scope", "reports:read", "--name", "bench"])
        material["client"] = basic(client["client_id"], client["client_secret"])
        server = system.clients_create(["--scope", "reports:read", "--name", "bench-rs", "--introspect"])
        material["resource_server"] = basic(server["client_id"], server["client_secret"])
        tokens = []
        for assertion in assertions[:1000]:
            _, body = http(system.token_url() if not system.wrk_prefix else f"{system.public}/oauth2/token",
                           f"grant_type={JWT_BEARER}&assertion={assertion}".encode(),
                           {"Content-Type": "application/x-www-form-urlencoded"}, system.context)
            tokens.append(json.loads(body)["access_token"])
        introspect = work / f"introspect-{abs(hash(system.label))}"
        introspect.write_text("".join(f"token={t}\n" for t in tokens))
        material["introspect"] = introspect
    return material


def run_system(system, args, work, rows):
    material = prepare(system, args, work) if "exchange" in system.paths else {}
    if isinstance(system, OidcProvider):
        material["client"] = basic(*system.secret)
    wrk(system, system.token_url() if "exchange" in system.paths else system.jwks_url(), args,
        {"BODIES": str(material.get("exchange", "")), "METHOD": "POST" if "exchange" in system.paths else "GET",
         "CONTENT_TYPE": "application/x-www-form-urlencoded"}, "2s")  # warm-up, not counted
    for path in system.paths:
        if path not in args.paths:
            continue
        result = drive(system, path, material, args, work)
        print_row(system.label, path, result)
        rows.append({"system": system.label, "path": path, **result})
    return material


def scale_check(system, material, args, work, rows):
    """Fills the store to args.scale registrations, then runs the exchange again."""
    base = next(r for r in rows if r["system"] == system.label and r["path"] == "exchange")
    memory_before = system.redis_used_memory()
    registered = system.registrations()
    log(f"{system.label}: {registered:,} registrations; filling the store to {args.scale:,}")
    created = 0
    while registered + created < args.scale:
        r = wrk(system, system.url("/agent/identity"), args,
                {"BODY": '{"type":"anonymous"}', "CONTENT_TYPE": "application/json"}, "20s")
        created += sum(v for k, v in r["statuses"].items() if k.startswith("2"))
        log(f"  {registered + created:,} registrations")
    per = (system.redis_used_memory() - memory_before) / max(created, 1)
    registered = system.registrations()
    result = drive(system, "exchange", material, args, work)
    result["redis_bytes_per_registration"] = per
    label = f"{system.label}, {registered:,} registered"
    print_row(label, "exchange", result)
    print(f"scale: the exchange at {registered:,} registrations runs at "
          f"{result['rate'] / base['rate'] * 100:.1f} % of its rate at {args.agents:,}; "
          f"{per:.0f} B of Redis memory per registration added", flush=True)
    rows.append({"system": label, "path": "exchange", **result})


def ratios(rows):
    """Our rate over each comparison server's, and CPU per request side by side: the CPU
    figure is the one that carries over to a real deployment (wrk shares the cores here)."""
    def row_of(system, path):
        return next((r for r in rows if r["system"] == system and r["path"] == path), None)

    peers = sorted({r["system"] for r in rows if r["system"].startswith("peer ")})
    compared = {"exchange": peers, "client_credentials": ["oidc-provider"], "jwks": ["oidc-provider"]}
    for row in rows:
        if row["system"].startswith(("peer ", "oidc-provider")):
            continue
        for other in compared.get(row["path"], []):
            theirs = row_of(other, row["path"])
            if theirs and theirs["rate"] and row["cpu_us"]:
                print(f"ratio  {row['system']:<22} {row['path']:<19} {row['rate'] / theirs['rate']:5.2f}× {other}; "
                      f"CPU/req {row['cpu_us']:.0f} vs {theirs['cpu_us']:.0f} µs "
                      f"({theirs['cpu_us'] / row['cpu_us']:.2f}× less)", flush=True)


def baseline_comparison(rows):
    """Before (--baseline) and after, per process, for each system measured both ways."""
    suffix = " (baseline)"
    before = {(r["system"][:-len(suffix)], r["path"]): r for r in rows if r["system"].endswith(suffix)}
    for row in rows:
        old = before.get((row["system"], row["path"]))
        if old is None:
            continue
        change = (row["cpu_us"] / old["cpu_us"] - 1) * 100 if old["cpu_us"] else 0.0
        print(f"baseline → now  {row['system']:<22} {row['path']:<19} {old['cpu_us']:7.1f} → "
              f"{row['cpu_us']:7.1f} µs CPU/req ({change:+.0f} %); rate {old['rate']:,.0f} → {row['rate']:,.0f}/s",
              flush=True)
        print(f"{'':<15} {'':<22} {'':<19} cpu µs/req: "
              f"{breakdown(row['cpu_us_by_process'], old['cpu_us_by_process'])}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--systems", default="dev,dev-redis,topology")
    parser.add_argument("--paths", default="exchange,dpop,client_credentials,introspect,jwks,register")
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", default="10s")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--proofs", type=int, default=150_000, help="DPoP proofs made for each run")
    parser.add_argument("--replicas", type=int, default=1, help="replicas of each service in the topology")
    parser.add_argument("--peer", nargs=3, action="append", default=[],
                        metavar=("START_CMD", "REGISTER_URL", "TOKEN_URL"))
    parser.add_argument("--no-oidc-provider", action="store_true")
    parser.add_argument("--scale", type=int, default=0)
    parser.add_argument("--trace", action="store_true", help="dev systems export traces to bench/otlp_sink.py")
    parser.add_argument("--bin-dir", type=Path, help="binaries to measure (default: build release)")
    parser.add_argument("--baseline", type=Path, help="another build's binaries, measured in the same run")
    parser.add_argument("--baseline-systems", help="the systems measured with --baseline (default: --systems)")
    parser.add_argument("--json", type=Path, help="write every row here")
    args = parser.parse_args()
    args.paths = set(args.paths.split(","))
    systems = [s for s in args.systems.split(",") if s]
    for tool in ("wrk", "curl") + (("redis-server", "redis-cli") if {"dev-redis", "topology"} & set(systems) else ()):
        if not any((Path(d) / tool).exists() for d in os.environ["PATH"].split(":")):
            raise SystemExit(f"{tool} is required")
    if args.bin_dir is None:
        log("building release")
        subprocess.run(["cargo", "build", "--release", "--locked", "-p", "agentctl", "-p", "jwks-service",
                        "-p", "identity-service", "-p", "token-service"], cwd=ROOT, check=True)
        args.bin_dir = ROOT / "target/release"
    builds = [("", args.bin_dir.resolve(), systems)]
    if args.baseline:
        again = args.baseline_systems.split(",") if args.baseline_systems else systems
        builds.append((" (baseline)", args.baseline.resolve(), again))

    print(f"# {os.cpu_count()} cores, {platform()}; wrk -t{args.threads} -c{args.connections} -d{args.duration}, "
          f"median of {args.runs}; {args.agents:,} distinct agents", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="agentauth-bench-") as tmp:
        work = Path(tmp)
        for i, (command, register, token) in enumerate(args.peer, start=1):
            peer = Peer(command, register, token, i)
            try:
                run_system(peer, args, work, rows)
            finally:
                peer.stop()
        if not args.no_oidc_provider and args.paths & {"client_credentials", "jwks"}:
            provider = OidcProvider(work)
            try:
                run_system(provider, args, work, rows)
            finally:
                provider.stop()
        for suffix, bin_dir, names in builds:
            for name in names:
                sub = work / f"{name}{len(suffix)}"
                sub.mkdir()
                if name in ("dev", "dev-redis"):
                    system = Dev(bin_dir, sub, name == "dev-redis", f"{name}{suffix}", args.trace)
                    print(f"# {system.label}: ready in {system.ready_ms:.0f} ms, idle RSS "
                          + ", ".join(f"{k} {v:.1f} MB" for k, v in system.idle.items()), flush=True)
                    try:
                        material = run_system(system, args, work, rows)
                        if args.scale and system.redis and not suffix:
                            scale_check(system, material, args, work, rows)
                    finally:
                        system.stop()
                elif name == "topology":
                    topology = Topology(bin_dir, sub, args.replicas)
                    print(f"# topology{suffix}: ready after a restart in "
                          + ", ".join(f"{k} {v:.0f} ms" for k, v in topology.ready_ms.items())
                          + "; idle RSS " + ", ".join(f"{k} {v:.1f} MB" for k, v in topology.idle.items()),
                          flush=True)
                    try:
                        for ingress in (False, True):
                            view = TopologyView(topology, ingress)
                            view.label += suffix
                            run_system(view, args, work, rows)
                    finally:
                        topology.stop()
                else:
                    raise SystemExit(f"unknown system {name}")
    ratios(rows)
    baseline_comparison(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


def platform():
    try:
        model = next(l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                     if l.startswith("model name"))
    except StopIteration:
        model = "unknown CPU"
    return model


if __name__ == "__main__":
    main()
