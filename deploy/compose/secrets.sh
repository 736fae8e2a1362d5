#!/usr/bin/env bash
# The secret files deploy/docker-compose.yml reads, in deploy/compose/secrets/, readable
# by their owner only: Compose's secret-files step copies each container's own files
# into a volume of its own, owned by that container's user.
# Builds agentctl (for the internal PKI) unless AGENTCTL names one.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
agentctl="${AGENTCTL:-}"
if [ -z "$agentctl" ]; then
    (cd "$root" && cargo build --release --locked -p agentctl)
    agentctl="$root/target/release/agentctl"
fi
"$root/deploy/make-secrets.sh" "$root/deploy/compose/secrets" "$agentctl"
echo "secrets in deploy/compose/secrets/ (ingress CA: deploy/compose/secrets/ingress/ca.pem)"
