#!/usr/bin/env bash
# Redis of the local production topology: AOF on (every write fsynced each second),
# a password from the secrets, data under $AGENTAUTH_LOCAL_DIR/redis.
#   redis.sh start | stop | wait
set -euo pipefail
source "$(dirname "$0")/lib.sh"

pidfile="$STATE/pids/redis"
# The password never on a command line (ps shows those to every user): redis-cli takes it
# from REDISCLI_AUTH, redis-server from a config file only root reads.
cli() { REDISCLI_AUTH="$(cat "$SECRETS/redis-password")" in_ns redis-cli -h "$REDIS_ADDR" "$@"; }

case "${1:?start|stop|wait}" in
    start)
        (umask 077 && printf 'requirepass "%s"\n' "$(sed -e 's/[\\"]/\\&/g' "$SECRETS/redis-password")" \
            >"$STATE/redis-auth.conf")
        # exec all the way down, so the recorded pid is Redis's own.
        (exec ip netns exec "$AGENTAUTH_NETNS" redis-server "$STATE/redis-auth.conf" --bind "$REDIS_ADDR" \
            --port 6379 --dir "$STATE/redis" \
            --appendonly yes --appendfsync everysec --save '' >>"$STATE/logs/redis.log" 2>&1) &
        echo $! >"$pidfile"
        ;;
    wait)
        for _ in $(seq 1 100); do
            cli ping 2>/dev/null | grep -q PONG && exit 0
            sleep 0.1
        done
        echo "redis did not come up; its log:" >&2
        tail -n 20 "$STATE/logs/redis.log" >&2
        exit 1
        ;;
    stop)
        [ -f "$pidfile" ] || exit 0
        pid="$(cat "$pidfile")"
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do running "$pid" || break; sleep 0.1; done
        rm -f "$pidfile"
        ;;
esac
