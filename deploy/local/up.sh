#!/usr/bin/env bash
# The production topology on one machine, as real processes in the production profile:
# Redis with AOF, 2 × jwks-service, 2 × identity-service, 2 × token-service, and HAProxy
# as the TLS-terminating ingress with the Kubernetes Ingress's path routing. Secrets
# (pepper, KEK, internal PKI) are files, as Kubernetes mounts them.
#
#   sudo deploy/local/up.sh        then   deploy/local/down.sh
#
# Settings (environment):
#   AGENTAUTH_LOCAL_DIR     state: secrets, logs, pids, Redis data, outbox
#                           (default $TMPDIR/agentauth-local)
#   AGENTAUTH_INGRESS_PORT  the ingress port on 127.0.0.1 (default 8443)
#   AGENTAUTH_NETNS         network namespace name (default agentauth)
#   AGENTAUTH_BIN_DIR       where the service binaries are (default: build release)
#   AGENTAUTH_EXTRA_ENV     a file of AGENTAUTH__…=value lines every replica also gets
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need_root
for tool in redis-server haproxy openssl curl ip; do
    command -v "$tool" >/dev/null || { echo "$tool is required (apt-get install redis-server haproxy openssl curl iproute2)" >&2; exit 1; }
done
if ip netns list | grep -qw "$AGENTAUTH_NETNS"; then
    echo "namespace $AGENTAUTH_NETNS exists: run deploy/local/down.sh first" >&2
    exit 1
fi

mkdir -p "$STATE"/{pids,logs,redis,outbox} "$SECRETS"
if [ -n "${AGENTAUTH_BIN_DIR:-}" ]; then
    echo "$AGENTAUTH_BIN_DIR" >"$STATE/bin-dir"
else
    rm -f "$STATE/bin-dir"
    echo "building release binaries"
    (cd "$ROOT" && cargo build --release --locked -p jwks-service -p identity-service -p token-service -p agentctl)
fi
if [ -n "${AGENTAUTH_EXTRA_ENV:-}" ]; then cp "$AGENTAUTH_EXTRA_ENV" "$STATE/extra.env"; else rm -f "$STATE/extra.env"; fi

# Secrets, made once and kept across restarts (a KEK lost is every stored key lost).
"$ROOT/deploy/make-secrets.sh" "$SECRETS" "$(bin_dir)/agentctl"

# The namespace: loopback up, one address per replica, and its own hosts file in which
# each service name resolves to every replica (a headless Service).
ip netns add "$AGENTAUTH_NETNS"
in_ns ip link set lo up
mkdir -p "/etc/netns/$AGENTAUTH_NETNS"
{
    echo "127.0.0.1 localhost"
    echo "$REDIS_ADDR redis"
    in_ns ip addr add "$REDIS_ADDR/32" dev lo
    for service in "${SERVICES[@]}"; do
        for n in $(seq 1 "$REPLICAS"); do
            addr="$(replica_addr "$service" "$n")"
            in_ns ip addr add "$addr/32" dev lo
            echo "$addr $service"
        done
    done
} >"/etc/netns/$AGENTAUTH_NETNS/hosts"

"$(dirname "$0")/redis.sh" start
"$(dirname "$0")/redis.sh" wait

# jwks-service first: the signers wait for its key stream to become ready.
for service in "${SERVICES[@]}"; do
    for n in $(seq 1 "$REPLICAS"); do
        "$(dirname "$0")/replica.sh" start "$service" "$n"
    done
done

servers() {
    for n in $(seq 1 "$REPLICAS"); do
        # `namespace` on each server: HAProxy does not take it from default-server.
        echo "    server $1-$n $(replica_addr "$1" "$n"):8080 namespace $AGENTAUTH_NETNS"
    done
}
config="$STATE/haproxy.cfg"
sed -e "s|@PORT@|$AGENTAUTH_INGRESS_PORT|g" -e "s|@STATE@|$STATE|g" -e "s|@NETNS@|$AGENTAUTH_NETNS|g" \
    "$(dirname "$0")/haproxy.cfg.in" >"$config.tmp"
for service in "${SERVICES[@]}"; do
    servers "$service" >"$STATE/servers.tmp"
    sed -i -e "/@SERVERS $service@/r $STATE/servers.tmp" -e "/@SERVERS $service@/d" "$config.tmp"
done
rm -f "$STATE/servers.tmp"
mv "$config.tmp" "$config"
haproxy -c -q -f "$config"
(exec haproxy -db -f "$config" >>"$STATE/logs/haproxy.log" 2>&1) &
echo $! >"$STATE/pids/haproxy"

for service in "${SERVICES[@]}"; do
    for n in $(seq 1 "$REPLICAS"); do
        "$(dirname "$0")/replica.sh" wait "$service" "$n"
    done
done
ingress_ready() {
    for path in /.well-known/jwks.json /.well-known/oauth-authorization-server; do
        curl -sf --cacert "$SECRETS/ingress/ca.pem" -o /dev/null "$ISSUER$path" || return 1
    done
}
for attempt in $(seq 1 100); do
    ingress_ready && break
    if ! running "$(cat "$STATE/pids/haproxy")" || [ "$attempt" -eq 100 ]; then
        echo "the ingress does not answer; its log:" >&2
        tail -n 20 "$STATE/logs/haproxy.log" >&2
        exit 1
    fi
    sleep 0.1
done

cat <<MSG
agentauth production topology is up
  issuer:     $ISSUER
  discovery:  $ISSUER/.well-known/oauth-authorization-server
  ingress CA: $SECRETS/ingress/ca.pem   (curl --cacert …, SSL_CERT_FILE=…)
  replicas:   ${REPLICAS} × ${SERVICES[*]}, in network namespace $AGENTAUTH_NETNS
  logs:       $STATE/logs/
  outbox:     $STATE/outbox/
  stop:       deploy/local/down.sh
MSG
