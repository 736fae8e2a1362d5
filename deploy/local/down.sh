#!/usr/bin/env bash
# Stops the local production topology: every replica with SIGTERM (a graceful drain),
# then HAProxy and Redis, then removes the network namespace. State (secrets, Redis's
# AOF, logs) stays in AGENTAUTH_LOCAL_DIR unless --purge is given.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need_root

for service in token-service identity-service jwks-service; do
    for pidfile in "$STATE/pids/$service"-*; do
        [ -f "$pidfile" ] || continue
        n="${pidfile##*-}"
        "$(dirname "$0")/replica.sh" stop "$service" "$n" &
    done
done
wait
"$(dirname "$0")/redis.sh" stop
for name in haproxy; do
    if [ -f "$STATE/pids/$name" ]; then
        kill "$(cat "$STATE/pids/$name")" 2>/dev/null || true
        rm -f "$STATE/pids/$name"
    fi
done
sleep 0.2
ip netns del "$AGENTAUTH_NETNS" 2>/dev/null || true
rm -rf "/etc/netns/$AGENTAUTH_NETNS"
if [ "${1:-}" = "--purge" ]; then
    rm -rf "$STATE"
fi
echo "agentauth local topology stopped"
