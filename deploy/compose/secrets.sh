#!/usr/bin/env bash
# The secret files deploy/docker-compose.yml mounts, in deploy/compose/secrets/.
# Builds agentctl (for the internal PKI) unless AGENTCTL names one.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
agentctl="${AGENTCTL:-}"
if [ -z "$agentctl" ]; then
    (cd "$root" && cargo build --release --locked -p agentctl)
    agentctl="$root/target/release/agentctl"
fi
"$root/deploy/make-secrets.sh" "$root/deploy/compose/secrets" "$agentctl" --world-readable
echo "secrets in deploy/compose/secrets/ (ingress CA: deploy/compose/secrets/ingress/ca.pem)"
