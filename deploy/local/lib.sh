# Shared by up.sh, down.sh and replica.sh: where the local production topology lives.
# Sourced, not run.
#
# The topology runs in one network namespace, the way pods share a cluster network:
# every replica has its own address on the namespace's loopback and the standard ports
# (8080 HTTP, 50051 gRPC), and `ip netns` gives the namespace its own /etc/hosts, in
# which each service name resolves to all its replicas (a headless Service). HAProxy,
# the ingress, runs outside and reaches the replicas through the namespace.

AGENTAUTH_NETNS="${AGENTAUTH_NETNS:-agentauth}"
AGENTAUTH_LOCAL_DIR="${AGENTAUTH_LOCAL_DIR:-${TMPDIR:-/tmp}/agentauth-local}"
AGENTAUTH_INGRESS_PORT="${AGENTAUTH_INGRESS_PORT:-8443}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE="$AGENTAUTH_LOCAL_DIR"
SECRETS="$STATE/secrets"
ISSUER="https://127.0.0.1:$AGENTAUTH_INGRESS_PORT"

# Replica addresses: 10.77.<service>.<replica>.
REDIS_ADDR=10.77.0.10
declare -A SERVICE_NET=([jwks-service]=1 [identity-service]=2 [token-service]=3)
SERVICES=(jwks-service identity-service token-service)
REPLICAS="${AGENTAUTH_REPLICAS:-2}"

replica_addr() { echo "10.77.${SERVICE_NET[$1]}.$2"; }

in_ns() { ip netns exec "$AGENTAUTH_NETNS" "$@"; }

need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "the local topology needs root (ip netns); run it with sudo" >&2
        exit 1
    fi
}

bin_dir() {
    if [ -f "$STATE/bin-dir" ]; then cat "$STATE/bin-dir"; else echo "$ROOT/target/release"; fi
}

# Whether process $1 still runs; a zombie (exited, not yet reaped: its parent here is
# whatever adopted it) does not count.
running() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [ "${stat:0:1}" != "Z" ]
}
