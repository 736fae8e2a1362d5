#!/usr/bin/env bash
# Starts or stops one replica of the local production topology.
#   replica.sh start SERVICE N      start replica N of SERVICE (jwks|identity|token-service)
#   replica.sh stop SERVICE N [SIG] send SIG (TERM by default: a graceful drain) and wait
#   replica.sh wait SERVICE N       wait until its /readyz answers 200
# Every replica runs in the production profile with its secrets read from files.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

command="${1:?start|stop|wait}"
service="${2:?service}"
n="${3:?replica number}"
[ -n "${SERVICE_NET[$service]:-}" ] || { echo "unknown service $service" >&2; exit 2; }
addr="$(replica_addr "$service" "$n")"
name="$service-$n"
pidfile="$STATE/pids/$name"

# The ingress forwards client certificates (haproxy.cfg.in): token-service trusts these
# headers, and identity-service's discovery says so. Both read the same section.
mtls_env() {
    echo "AGENTAUTH__TOKEN_ENDPOINT__MTLS__TRUSTED_HEADER=x-client-cert"
    echo "AGENTAUTH__TOKEN_ENDPOINT__MTLS__VERIFY_HEADER=x-client-cert-verify"
}

# HAProxy overwrites X-Forwarded-For with the client's address (haproxy.cfg.in): one
# trusted hop, so the rate limits count clients, never HAProxy, never a forged header.
client_address_env() {
    echo "AGENTAUTH__CLIENT_ADDRESS__TRUSTED_PROXY_HOPS=1"
}

service_env() {
    echo "AGENTAUTH__PROFILE=production"
    echo "AGENTAUTH__HTTP__HOST=$addr"
    echo "AGENTAUTH__HTTP__PORT=8080"
    echo "AGENTAUTH__GRPC__HOST=$addr"
    echo "AGENTAUTH__GRPC__PORT=50051"
    echo "AGENTAUTH__METRICS__LISTEN__HOST=$addr"
    echo "AGENTAUTH__METRICS__LISTEN__PORT=9090"
    echo "AGENTAUTH__STORE__REDIS_URL=redis://redis:6379"
    echo "AGENTAUTH__STORE__PASSWORD__FILE=$SECRETS/redis-password"
    echo "AGENTAUTH__INTERNAL_TLS__DIR=$SECRETS/internal-tls"
    case "$service" in
        jwks-service)
            echo "AGENTAUTH__KEYS__KEK__FILE=$SECRETS/kek" ;;
        identity-service)
            echo "AGENTAUTH__PUBLIC_BASE_URL=$ISSUER"
            mtls_env
            echo "AGENTAUTH__HASH_PEPPER__FILE=$SECRETS/pepper"
            echo "AGENTAUTH__MAIL__OUTBOX_DIR=$STATE/outbox"
            client_address_env ;;
        token-service)
            echo "AGENTAUTH__PUBLIC_BASE_URL=$ISSUER"
            mtls_env
            echo "AGENTAUTH__HASH_PEPPER__FILE=$SECRETS/pepper"
            client_address_env ;;
    esac
    # Operator overrides for every replica (one VAR=value per line).
    [ -f "$STATE/extra.env" ] && grep -E '^AGENTAUTH__[A-Z0-9_]+=' "$STATE/extra.env" || true
}

case "$command" in
    start)
        if [ -f "$pidfile" ] && running "$(cat "$pidfile")"; then
            echo "$name is already running" >&2
            exit 1
        fi
        mapfile -t vars < <(service_env)
        # exec all the way down, so the recorded pid is the replica's own.
        (exec ip netns exec "$AGENTAUTH_NETNS" env -i PATH="$PATH" "${vars[@]}" "$(bin_dir)/$service" \
            >>"$STATE/logs/$name.log" 2>&1) &
        echo $! >"$pidfile"
        ;;
    stop)
        signal="${4:-TERM}"
        [ -f "$pidfile" ] || exit 0
        pid="$(cat "$pidfile")"
        kill -s "$signal" "$pid" 2>/dev/null || true
        # Bounded by the drain schedule (drain delay + grace) plus a margin.
        for _ in $(seq 1 400); do
            running "$pid" || break
            sleep 0.1
        done
        if running "$pid"; then
            echo "$name did not stop within 40 s, killing it" >&2
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$pidfile"
        ;;
    wait)
        for _ in $(seq 1 300); do
            if in_ns curl -sf -o /dev/null "http://$addr:8080/readyz"; then
                exit 0
            fi
            if [ -f "$pidfile" ] && ! running "$(cat "$pidfile")"; then
                echo "$name exited; its log:" >&2
                tail -n 20 "$STATE/logs/$name.log" >&2
                exit 1
            fi
            sleep 0.1
        done
        echo "$name not ready within 30 s; its log:" >&2
        tail -n 20 "$STATE/logs/$name.log" >&2
        exit 1
        ;;
    *)
        echo "usage: replica.sh start|stop|wait SERVICE N" >&2
        exit 2
        ;;
esac
