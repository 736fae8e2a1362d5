#!/usr/bin/env bash
# The exchange (RFC 7523 jwt-bearer) under load against `agentctl dev` (release build,
# in-memory store), bearer and DPoP-bound side by side: wrk drives distinct agents'
# assertions; in DPoP mode every request carries its own pre-signed proof (made just
# before the run, each used once, as RFC 9449 requires).
#
#   bench/exchange.sh [bearer|dpop|both]      (default both)
#
# Environment: AGENTS (default 2000), CONNECTIONS (32), DURATION (10s), RUNS (3),
# PORT (18080), GRPC_PORT (15051), AGENTCTL (target/release/agentctl: another build to
# compare with); TRACE=1 exports traces (sample ratio 0.1, the
# production setting) to bench/otlp_sink.py (python grpcio + opentelemetry-proto).
# Needs wrk, curl, python3 with cryptography.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-both}"
AGENTS="${AGENTS:-2000}" CONNECTIONS="${CONNECTIONS:-32}" DURATION="${DURATION:-10s}" RUNS="${RUNS:-3}"
PORT="${PORT:-18080}" GRPC_PORT="${GRPC_PORT:-15051}"
for tool in wrk curl python3; do command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }; done
AGENTCTL="${AGENTCTL:-target/release/agentctl}"
[ -x "$AGENTCTL" ] || cargo build --release --locked -p agentctl
work="$(mktemp -d)"
finish() {
    kill "$dev" 2>/dev/null || true
    if [ -n "${sink:-}" ]; then
        sleep 2
        echo "spans the collector received: $(cat "$work/spans" 2>/dev/null || echo 0)"
        kill -9 "$sink" 2>/dev/null || true
    fi
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap finish EXIT

trace_args=()
if [ "${TRACE:-0}" = 1 ]; then
    python3 bench/otlp_sink.py 14317 "$work/spans" 2>"$work/sink.log" &
    sink=$!
    trace_args=(--otlp-endpoint http://127.0.0.1:14317 --trace-sample-ratio 0.1)
fi
AGENTAUTH__RATE_LIMITS__ANONYMOUS_REGISTRATIONS_PER_IP__MAX=1000000 \
    "$AGENTCTL" dev --http "127.0.0.1:$PORT" --grpc "127.0.0.1:$GRPC_PORT" \
    --tls-dir "$work/tls" --outbox "$work/outbox" "${trace_args[@]}" >"$work/dev.log" 2>&1 &
dev=$!
for _ in $(seq 1 100); do
    grep -q "discovery" "$work/dev.log" 2>/dev/null && break
    sleep 0.1
done
base="http://127.0.0.1:$PORT"
python3 bench/agents.py register "$base" "$AGENTS" >"$work/assertions"
echo "$(wc -l <"$work/assertions") agents registered; $(nproc) cores; wrk -t2 -c$CONNECTIONS -d$DURATION, $RUNS runs; trace export ${TRACE:-0}"

run() {
    local label="$1"
    for i in $(seq 1 "$RUNS"); do
        if [ "$label" = dpop ]; then
            # A proof per request the run can make, signed now so every iat is fresh.
            python3 bench/agents.py proofs "$base/oauth2/token" 150000 >"$work/proofs"
        else
            : >"$work/proofs"
        fi
        ASSERTIONS="$work/assertions" PROOFS="$work/proofs" \
            wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s bench/exchange.lua "$base/oauth2/token" >"$work/wrk.out"
        rate="$(awk '/Requests\/sec/ {print $2}' "$work/wrk.out")"
        bad="$(awk '/Non-2xx/ {print $5}' "$work/wrk.out")"
        latency="$(awk '/^    Latency/ {print $2}' "$work/wrk.out")"
        echo "$label run $i: $rate exchanges/s, mean latency $latency, non-2xx ${bad:-0}"
    done
}
case "$mode" in
    bearer) run bearer ;;
    dpop) run dpop ;;
    both) run bearer; run dpop ;;
    *) echo "usage: $0 [bearer|dpop|both]" >&2; exit 2 ;;
esac
