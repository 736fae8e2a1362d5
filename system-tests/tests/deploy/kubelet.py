"""Runs every Deployment of a rendered kustomize overlay the way a kubelet would.

No cluster can run here, so this does by hand the parts of a kubelet that decide whether
a pod starts: it materialises each volume with Kubernetes' ownership and mode rules
(secret, configMap and projected files owned by root with `defaultMode`/`mode`; with an
`fsGroup`, group-owned by it with group read added; `emptyDir` writable), builds the
container's environment from `env` and `envFrom`, and runs the real service binary as
`runAsUser:runAsGroup` (with `fsGroup` as a supplementary group, no new privileges and
no capabilities) in a mount namespace whose root filesystem is read-only where
`readOnlyRootFilesystem` says so. Each pod gets a network namespace of its own with one
address, as a pod does, and an /etc/hosts in which each Service name resolves to its
pod (a headless Service) and `redis` (or the overlay's Redis host) to a real
`redis-server`. Then the declared startup, liveness and readiness probes are run within
their declared timings from the "node", every declared port must be listening, and
SIGTERM must end each pod cleanly within `terminationGracePeriodSeconds`.

usage: kubelet.py OVERLAY_DIR BIN_DIR WORK_DIR
Prints one line per check; exits non-zero with the reason on the first failure.
"""

import base64
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse

import yaml

# distroless's PATH: where the container runtime resolves a bare `command`.
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SUBNET = "10.78.0"
NODE_ADDR = f"{SUBNET}.1"


class Failure(Exception):
    pass


def sh(*args, check=True, **kw):
    result = subprocess.run(args, capture_output=True, text=True, **kw)
    if check and result.returncode != 0:
        raise Failure(f"{' '.join(args)}: {result.stderr.strip() or result.stdout.strip()}")
    return result


def say(line):
    print(line, flush=True)


# --- the Secrets operators create (docs/kubernetes.md), filled with test values ---------


def operator_secrets(work, bin_dir, redis_host):
    """Secret name -> key -> bytes, as an operator would create them."""
    pki = os.path.join(work, "pki")
    sh(os.path.join(bin_dir, "agentctl"), "certs", "init", "--out", pki, "--namespace", "agentauth")
    internal = {name: open(os.path.join(pki, name), "rb").read() for name in os.listdir(pki) if name != "ca-key.pem"}
    redis_tls = os.path.join(work, "redis-tls")
    os.makedirs(redis_tls)
    ca_key, ca, key, csr, cert = (os.path.join(redis_tls, n) for n in ("ca-key.pem", "ca.pem", "key.pem", "csr.pem", "cert.pem"))
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
       "-subj", "/CN=redis test CA", "-keyout", ca_key, "-out", ca)
    sh("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-subj", f"/CN={redis_host}", "-keyout", key, "-out", csr)
    ext = os.path.join(redis_tls, "ext.cnf")
    with open(ext, "w") as f:
        f.write(f"subjectAltName=DNS:{redis_host},DNS:redis\n")
    sh("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-days", "2",
       "-extfile", ext, "-out", cert)
    redis_password = secrets.token_urlsafe(24).encode()
    values = {
        "agentauth-secrets": {
            "pepper": base64.b64encode(os.urandom(32)) + b"\n",
            "kek": base64.b64encode(os.urandom(32)) + b"\n",
            "redis-password": redis_password + b"\n",
            "smtp-password": secrets.token_urlsafe(16).encode() + b"\n",
        },
        "agentauth-internal-tls": internal,
        "agentauth-redis-ca": {"ca.pem": open(ca, "rb").read()},
    }
    return values, {"password": redis_password.decode(), "cert": cert, "key": key, "ca": ca}


# --- volumes, as the kubelet's atomic writer and SetVolumeOwnership leave them ----------


def write_atomic(directory, files, fs_group):
    """Files under `..data/` and a symlink per top-level name, as the kubelet writes
    secret and configMap volumes. `files`: path -> (bytes, mode)."""
    os.makedirs(directory)
    data = os.path.join(directory, "..2026_kubelet")
    os.makedirs(data)
    for path, (content, mode) in files.items():
        target = os.path.join(data, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            f.write(content)
        os.chown(target, 0, 0)
        os.chmod(target, mode)
    os.symlink("..2026_kubelet", os.path.join(directory, "..data"))
    for top in {p.split("/")[0] for p in files}:
        os.symlink(os.path.join("..data", top), os.path.join(directory, top))
    for root, dirs, names in os.walk(directory):
        for d in dirs:
            full = os.path.join(root, d)
            if not os.path.islink(full):
                os.chmod(full, 0o755)
    os.chmod(directory, 0o755)
    if fs_group is not None:
        # SetVolumeOwnership: group fsGroup, group read on files of a read-only volume,
        # setgid and group read+search on directories.
        for root, dirs, names in os.walk(directory):
            for name in dirs + names:
                full = os.path.join(root, name)
                if os.path.islink(full):
                    continue
                os.chown(full, -1, fs_group)
                mode = os.stat(full).st_mode & 0o7777
                if os.path.isdir(full):
                    os.chmod(full, mode | 0o440 | 0o110 | 0o2000)
                else:
                    os.chmod(full, mode | 0o440)
        os.chown(directory, -1, fs_group)
        os.chmod(directory, 0o755 | 0o2000)


def key_files(source, store, kind, default_mode, namespace_objects):
    """The files one secret/configMap source contributes: path -> (bytes, mode)."""
    name = source.get("secretName") or source.get("name")
    optional = source.get("optional", False)
    if name not in store:
        if optional:
            return {}
        raise Failure(f"{kind} {name} does not exist: neither rendered by the overlay nor a documented operator Secret")
    data = store[name]
    items = source.get("items")
    files = {}
    if items:
        for item in items:
            if item["key"] not in data:
                if optional:
                    continue
                raise Failure(f"{kind} {name} has no key {item['key']}")
            files[item["path"]] = (data[item["key"]], item.get("mode", default_mode))
    else:
        for key, value in data.items():
            files[key] = (value, default_mode)
    return files


def materialise(volume, where, stores, fs_group):
    if "secret" in volume:
        source = volume["secret"]
        files = key_files(source, stores["Secret"], "Secret", source.get("defaultMode", 0o644), stores)
        write_atomic(where, files, fs_group)
        return "ro"
    if "configMap" in volume:
        source = volume["configMap"]
        files = key_files(source, stores["ConfigMap"], "ConfigMap", source.get("defaultMode", 0o644), stores)
        write_atomic(where, files, fs_group)
        return "ro"
    if "projected" in volume:
        projected = volume["projected"]
        default_mode = projected.get("defaultMode", 0o644)
        files = {}
        for source in projected["sources"]:
            if "secret" in source:
                files.update(key_files(source["secret"], stores["Secret"], "Secret", default_mode, stores))
            elif "configMap" in source:
                files.update(key_files(source["configMap"], stores["ConfigMap"], "ConfigMap", default_mode, stores))
            else:
                raise Failure(f"projected source {list(source)} is not simulated")
        write_atomic(where, files, fs_group)
        return "ro"
    if "emptyDir" in volume:
        os.makedirs(where)
        os.chmod(where, 0o777)
        if fs_group is not None:
            os.chown(where, -1, fs_group)
            os.chmod(where, 0o777 | 0o2000)
        return "rw"
    raise Failure(f"volume {volume['name']} of type {sorted(set(volume) - {'name'})} is not simulated")


# --- environment --------------------------------------------------------------------------


def expand(value, env):
    out, i = "", 0
    while i < len(value):
        if value.startswith("$$", i):
            out, i = out + "$", i + 2
        elif value.startswith("$(", i) and ")" in value[i:]:
            end = value.index(")", i)
            name = value[i + 2:end]
            out, i = out + env.get(name, f"$({name})"), end + 1
        else:
            out, i = out + value[i], i + 1
    return out


def container_env(container, stores, pod_name, pod_ip):
    env = {"PATH": IMAGE_PATH, "HOSTNAME": pod_name}
    for source in container.get("envFrom", []):
        prefix = source.get("prefix", "")
        if "configMapRef" in source:
            ref, store = source["configMapRef"], stores["ConfigMap"]
        else:
            ref, store = source["secretRef"], stores["Secret"]
        if ref["name"] not in store:
            if ref.get("optional"):
                continue
            raise Failure(f"envFrom names {ref['name']}, which does not exist")
        for key, value in store[ref["name"]].items():
            env[prefix + key] = value.decode()
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = expand(var["value"], env)
        elif "valueFrom" in var:
            source = var["valueFrom"]
            if "secretKeyRef" in source or "configMapKeyRef" in source:
                kind = "Secret" if "secretKeyRef" in source else "ConfigMap"
                ref = source.get("secretKeyRef") or source.get("configMapKeyRef")
                data = stores[kind].get(ref["name"], {})
                if ref["key"] not in data:
                    if ref.get("optional"):
                        continue
                    raise Failure(f"env {var['name']}: {kind} {ref['name']} has no key {ref['key']}")
                env[var["name"]] = data[ref["key"]].decode()
            elif "fieldRef" in source:
                field = source["fieldRef"]["fieldPath"]
                env[var["name"]] = {"metadata.name": pod_name, "metadata.namespace": "agentauth",
                                    "status.podIP": pod_ip, "spec.nodeName": "node"}[field]
            else:
                raise Failure(f"env {var['name']}: {list(source)} is not simulated")
        else:
            env[var["name"]] = ""
    return env


# --- the pod sandbox ------------------------------------------------------------------------


def pod_script(root, mounts, binary, container, pod_security, env, read_only_root):
    """The shell that builds the pod's filesystem in its own mount namespace and execs
    the container's process as its user."""
    ctx = {**pod_security, **container.get("securityContext", {})}
    uid = ctx.get("runAsUser")
    gid = ctx.get("runAsGroup", uid)
    if uid is None:
        raise Failure("no runAsUser: the image's user would be used; the manifests must name it")
    if uid == 0 and ctx.get("runAsNonRoot"):
        raise Failure("runAsNonRoot with runAsUser 0")
    groups = [str(pod_security["fsGroup"])] if pod_security.get("fsGroup") is not None else []
    groups += [str(g) for g in pod_security.get("supplementalGroups", [])]
    lines = [
        "set -eu",
        "mount --make-rprivate /",
        f"mount -t tmpfs -o mode=0755 rootfs {root}",
        f"cd {root}",
        "mkdir -p usr/lib usr/local/bin usr/bin etc proc dev tmp-probe",
        "mount --bind -o ro /usr/lib usr/lib",
        "[ -d /usr/lib64 ] && mkdir -p usr/lib64 && mount --bind -o ro /usr/lib64 usr/lib64 || true",
        "ln -s usr/lib lib; [ -d usr/lib64 ] && ln -s usr/lib64 lib64 || true; ln -s usr/bin bin",
        "touch usr/bin/setpriv && mount --bind -o ro /usr/bin/setpriv usr/bin/setpriv",
        f"touch usr/local/bin/{os.path.basename(binary)} && mount --bind -o ro {binary} usr/local/bin/{os.path.basename(binary)}",
        "mount --rbind /dev dev",
        "mount -t proc proc proc",
        # distroless: nonroot is 65532, and the resolver reads /etc/hosts first.
        "printf 'root:x:0:0:root:/root:/sbin/nologin\\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\\n' > etc/passwd",
        "printf 'root:x:0:\\nnonroot:x:65532:\\n' > etc/group",
        "printf 'hosts: files dns\\n' > etc/nsswitch.conf",
        "cp /etc/hosts etc/hosts",
        # distroless/cc ships the CA bundle (ca-certificates).
        "mkdir -p etc/ssl && mount --bind -o ro /etc/ssl etc/ssl",
        "rmdir tmp-probe",
    ]
    for path, source, mode in mounts:
        target = root + path
        lines.append(f"mkdir -p {target}")
        lines.append(f"mount --bind {source} {target}")
        if mode == "ro":
            lines.append(f"mount -o remount,bind,ro {target}")
    if read_only_root:
        lines.append(f"mount -o remount,ro {root}")
        # The simulation checks itself: even root cannot write the root filesystem now.
        lines.append(f"if touch {root}/written 2>/dev/null; then echo 'root filesystem is writable' >&2; exit 97; fi")
    caps = "--inh-caps=-all --ambient-caps=-all --bounding-set=-all"
    group_flag = f"--groups={','.join(groups)}" if groups else "--clear-groups"
    nnp = "--no-new-privs" if ctx.get("allowPrivilegeEscalation") is False else ""
    command = container.get("command") or []
    args = container.get("args") or []
    if not command:
        raise Failure("no command: the image's entrypoint is not simulated")
    argv = [expand(a, env) for a in command + args]
    resolved = argv[0]
    if "/" not in resolved:
        for directory in env.get("PATH", IMAGE_PATH).split(":"):
            if directory == "/usr/local/bin" and os.path.basename(binary) == resolved:
                resolved = f"/usr/local/bin/{resolved}"
                break
        else:
            raise Failure(f"command {argv[0]} is not in the image's PATH")
    env_args = " ".join(shlex_quote(f"{k}={v}") for k, v in sorted(env.items()))
    lines.append(
        f"exec env -i {env_args} chroot {root} /usr/bin/setpriv --reuid={uid} --regid={gid} {group_flag} "
        f"{nnp} {caps} -- {' '.join(shlex_quote(a) for a in [resolved] + argv[1:])}"
    )
    return "\n".join(lines) + "\n"


def shlex_quote(s):
    return shlex.quote(s)


class Cluster:
    """A node network namespace with a bridge, and one network namespace per pod."""

    def __init__(self, tag):
        self.node = f"aak-{tag}-node"
        self.pods = []
        sh("ip", "netns", "add", self.node)
        sh("ip", "-n", self.node, "link", "set", "lo", "up")
        sh("ip", "-n", self.node, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.node, "addr", "add", f"{NODE_ADDR}/24", "dev", "br0")
        sh("ip", "-n", self.node, "link", "set", "br0", "up")
        self.tag = tag

    def add_pod(self, n, hosts):
        ns = f"aak-{self.tag}-p{n}"
        address = f"{SUBNET}.{10 + n}"
        os.makedirs(f"/etc/netns/{ns}", exist_ok=True)
        with open(f"/etc/netns/{ns}/hosts", "w") as f:
            f.write(hosts)
        sh("ip", "netns", "add", ns)
        self.pods.append(ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", self.node, "link", "add", f"veth{n}", "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "-n", self.node, "link", "set", f"veth{n}", "master", "br0", "up")
        sh("ip", "-n", ns, "addr", "add", f"{address}/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        return ns, address

    def node_run(self, *args, **kw):
        return subprocess.run(["ip", "netns", "exec", self.node, *args], capture_output=True, text=True, **kw)

    def close(self):
        for ns in self.pods:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
            shutil.rmtree(f"/etc/netns/{ns}", ignore_errors=True)
        subprocess.run(["ip", "netns", "del", self.node], capture_output=True)


def probe(cluster, address, spec, pod_ports):
    """One probe attempt from the node: True when it succeeds within timeoutSeconds."""
    timeout = spec.get("timeoutSeconds", 1)
    if "httpGet" in spec:
        get = spec["httpGet"]
        port = pod_ports.get(get["port"], get["port"])
        url = f"http://{address}:{port}{get.get('path', '/')}"
        result = cluster.node_run("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", str(timeout), url)
        return result.stdout.strip().isdigit() and 200 <= int(result.stdout.strip()) < 400
    if "tcpSocket" in spec:
        port = pod_ports.get(spec["tcpSocket"]["port"], spec["tcpSocket"]["port"])
        return tcp_open(cluster, address, port, timeout)
    raise Failure(f"probe {list(spec)} is not simulated")


def tcp_open(cluster, address, port, timeout=1):
    result = cluster.node_run("bash", "-c", f"exec 3<>/dev/tcp/{address}/{port}", timeout=timeout + 1)
    return result.returncode == 0


def wait_probe(cluster, pod, kind, budget, started):
    """Runs `kind`'s probe every periodSeconds until it succeeds; fails past `budget`."""
    spec = pod["container"].get(kind)
    if spec is None:
        raise Failure(f"{pod['name']}: no {kind}")
    period = spec.get("periodSeconds", 10)
    time.sleep(max(0, spec.get("initialDelaySeconds", 0) - (time.monotonic() - started)))
    attempts = 0
    while True:
        attempts += 1
        if pod["process"].poll() is not None:
            raise Failure(f"{pod['name']} exited ({pod['process'].returncode}) before its {kind} passed:\n{pod_log(pod)}")
        if probe(cluster, pod["address"], spec, pod["ports"]):
            return time.monotonic() - started, attempts
        if time.monotonic() - started > budget:
            raise Failure(f"{pod['name']}: {kind} still failing after {budget:.0f}s ({attempts} attempts):\n{pod_log(pod)}")
        time.sleep(period if kind != "startupProbe" else min(period, 1))


def pod_log(pod):
    pod["log"].flush()
    with open(pod["log"].name, errors="replace") as f:
        return "".join(f.readlines()[-15:])


# --- the overlay -----------------------------------------------------------------------------


def main():
    overlay, bin_dir, work = (os.path.abspath(a) for a in sys.argv[1:4])
    tag = os.path.basename(overlay.rstrip("/"))[:6] + str(os.getpid() % 10000)
    rendered = sh("kubectl", "kustomize", overlay).stdout
    objects = [o for o in yaml.safe_load_all(rendered) if o]
    stores = {"Secret": {}, "ConfigMap": {}}
    for obj in objects:
        if obj["kind"] == "ConfigMap":
            stores["ConfigMap"][obj["metadata"]["name"]] = {k: v.encode() for k, v in obj.get("data", {}).items()}
        if obj["kind"] == "Secret":
            data = {k: base64.b64decode(v) for k, v in obj.get("data", {}).items()}
            data.update({k: v.encode() for k, v in obj.get("stringData", {}).items()})
            stores["Secret"][obj["metadata"]["name"]] = data
    deployments = [o for o in objects if o["kind"] == "Deployment"]
    if not deployments:
        raise Failure("the overlay renders no Deployment")
    config = {}
    for values in stores["ConfigMap"].values():
        config.update({k: v.decode() for k, v in values.items()})
    redis_url = urllib.parse.urlsplit(config.get("AGENTAUTH__STORE__REDIS_URL", "redis://redis:6379"))
    redis_host, redis_port = redis_url.hostname, redis_url.port or 6379
    fixtures, redis = operator_secrets(work, bin_dir, redis_host)
    for name, data in fixtures.items():
        stores["Secret"].setdefault(name, data)

    cluster = Cluster(tag)
    redis_proc, pods = None, []
    try:
        hosts = ["127.0.0.1 localhost", f"{NODE_ADDR} {redis_host} redis"]
        addresses = {}
        for n, deployment in enumerate(deployments, start=1):
            addresses[deployment["metadata"]["name"]] = f"{SUBNET}.{10 + n}"
        for name, address in addresses.items():
            hosts.append(f"{address} {name} {name}.agentauth.svc {name}.agentauth.svc.cluster.local")
        hosts_file = "\n".join(hosts) + "\n"
        redis_dir = os.path.join(work, "redis")
        os.makedirs(redis_dir)
        redis_args = ["redis-server", "--bind", NODE_ADDR, "--save", "", "--appendonly", "no", "--dir", redis_dir,
                      "--requirepass", redis["password"]]
        if redis_url.scheme == "rediss":
            redis_args += ["--port", "0", "--tls-port", str(redis_port), "--tls-cert-file", redis["cert"],
                           "--tls-key-file", redis["key"], "--tls-ca-cert-file", redis["ca"], "--tls-auth-clients", "no"]
        else:
            redis_args += ["--port", str(redis_port)]
        redis_proc = subprocess.Popen(["ip", "netns", "exec", cluster.node, *redis_args],
                                      stdout=open(os.path.join(work, "redis.log"), "w"), stderr=subprocess.STDOUT)
        say(f"redis-server at {redis_url.scheme}://{redis_host}:{redis_port} (password from agentauth-secrets)")

        for n, deployment in enumerate(deployments, start=1):
            pods.append(start_pod(cluster, n, deployment, stores, bin_dir, work, hosts_file))
        for pod in pods:
            check_pod_running(cluster, pod)
        for pod in pods:
            pod["process"].send_signal(signal.SIGTERM)
            pod["terminated_at"] = time.monotonic()
        for pod in pods:
            check_termination(cluster, pod)
        say(f"ok: {len(pods)} Deployments started, probed and terminated")
    finally:
        for pod in pods:
            if pod["process"].poll() is None:
                pod["process"].kill()
                pod["process"].wait()
        if redis_proc is not None:
            redis_proc.kill()
            redis_proc.wait()
        cluster.close()


def start_pod(cluster, n, deployment, stores, bin_dir, work, hosts_file):
    name = deployment["metadata"]["name"]
    spec = deployment["spec"]["template"]["spec"]
    containers = spec["containers"]
    if len(containers) != 1 or spec.get("initContainers"):
        raise Failure(f"{name}: only one container and no init containers are simulated")
    container = containers[0]
    security = spec.get("securityContext", {})
    fs_group = security.get("fsGroup")
    ns, address = cluster.add_pod(n, hosts_file)
    pod_dir = os.path.join(work, "pods", name)
    volumes = {}
    for volume in spec.get("volumes", []):
        where = os.path.join(pod_dir, "volumes", volume["name"])
        volumes[volume["name"]] = (where, materialise(volume, where, stores, fs_group))
    mounts = []
    for mount in container.get("volumeMounts", []):
        source, mode = volumes[mount["name"]]
        if mount.get("subPath"):
            source = os.path.join(source, mount["subPath"])
        mounts.append((mount["mountPath"], source, "ro" if mount.get("readOnly") or mode == "ro" else "rw"))
    env = container_env(container, stores, f"{name}-0", address)
    command = (container.get("command") or [None])[0]
    binary = os.path.join(bin_dir, os.path.basename(command or ""))
    if not command or not os.path.exists(binary):
        raise Failure(f"{name}: command {command} is not a binary this workspace builds")
    ctx = container.get("securityContext", {})
    script = pod_script(os.path.join(pod_dir, "rootfs"), mounts, binary, container, security, env,
                        ctx.get("readOnlyRootFilesystem", False))
    os.makedirs(os.path.join(pod_dir, "rootfs"))
    with open(os.path.join(pod_dir, "pod.sh"), "w") as f:
        f.write(script)
    log = open(os.path.join(pod_dir, "container.log"), "w")
    process = subprocess.Popen(
        ["ip", "netns", "exec", ns, "unshare", "--mount", "--propagation", "private", "sh", os.path.join(pod_dir, "pod.sh")],
        stdout=log, stderr=subprocess.STDOUT, env={"PATH": os.environ["PATH"]})
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", []) if "name" in p}
    say(f"{name}: started as {security.get('runAsUser')}:{security.get('runAsGroup')} fsGroup={fs_group} "
        f"readOnlyRootFilesystem={ctx.get('readOnlyRootFilesystem', False)} at {address}, "
        f"{len(mounts)} mounts, {len(env)} env vars")
    return {"name": name, "container": container, "spec": spec, "process": process, "address": address,
            "ports": ports, "log": log, "started": time.monotonic()}


def check_pod_running(cluster, pod):
    container = pod["container"]
    startup = container.get("startupProbe")
    budget = 0
    if startup:
        budget = startup.get("initialDelaySeconds", 0) + startup.get("periodSeconds", 10) * startup.get("failureThreshold", 3)
        took, attempts = wait_probe(cluster, pod, "startupProbe", budget, pod["started"])
        say(f"{pod['name']}: startupProbe passed after {took:.1f}s ({attempts} attempts, budget {budget}s)")
    liveness = container["livenessProbe"]
    if not probe(cluster, pod["address"], liveness, pod["ports"]):
        raise Failure(f"{pod['name']}: livenessProbe fails once started:\n{pod_log(pod)}")
    say(f"{pod['name']}: livenessProbe passed")
    readiness = container["readinessProbe"]
    ready_budget = budget + readiness.get("periodSeconds", 10) * readiness.get("failureThreshold", 3) + 30
    took, attempts = wait_probe(cluster, pod, "readinessProbe", ready_budget, pod["started"])
    say(f"{pod['name']}: readinessProbe passed after {took:.1f}s ({attempts} attempts)")
    # Readiness tolerates a Redis outage (reported as degraded); a pod that cannot reach
    # its Redis at all (wrong URL, password, CA) must not pass for a running one.
    get = readiness["httpGet"]
    url = f"http://{pod['address']}:{pod['ports'].get(get['port'], get['port'])}{get['path']}"
    deadline = time.monotonic() + 10
    while True:
        body = cluster.node_run("curl", "-s", "--max-time", "2", url).stdout
        if '"degraded"' not in body:
            break
        if time.monotonic() > deadline:
            raise Failure(f"{pod['name']}: ready but degraded: {body}\n{pod_log(pod)}")
        time.sleep(0.2)
    say(f"{pod['name']}: {get['path']} reports no degraded dependency (Redis reached)")
    for port in container.get("ports", []):
        if not tcp_open(cluster, pod["address"], port["containerPort"]):
            raise Failure(f"{pod['name']}: declared port {port.get('name')} {port['containerPort']} is not listening")
    say(f"{pod['name']}: every declared port listens ({', '.join(str(p['containerPort']) for p in container.get('ports', []))})")


def check_termination(cluster, pod):
    grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
    readiness = pod["container"]["readinessProbe"]
    # Unready at once on SIGTERM, while still serving through the drain delay.
    time.sleep(0.3)
    if pod["process"].poll() is None and probe(cluster, pod["address"], readiness, pod["ports"]):
        raise Failure(f"{pod['name']}: still ready after SIGTERM")
    try:
        code = pod["process"].wait(timeout=max(0.0, grace - (time.monotonic() - pod["terminated_at"])))
    except subprocess.TimeoutExpired:
        raise Failure(f"{pod['name']}: still running {grace}s after SIGTERM (terminationGracePeriodSeconds)")
    took = time.monotonic() - pod["terminated_at"]
    if code != 0:
        raise Failure(f"{pod['name']}: exited {code} after SIGTERM:\n{pod_log(pod)}")
    say(f"{pod['name']}: unready at once on SIGTERM, exited 0 after {took:.1f}s (grace {grace}s)")


if __name__ == "__main__":
    try:
        main()
    except Failure as failure:
        print(f"FAILED: {failure}", flush=True)
        sys.exit(1)
