#!/usr/bin/env bash
# Makes the secret files a deployment mounts, once (existing files are kept: a KEK lost
# is every stored signing key lost):
#   DIR/pepper          keyed-hash pepper (identity-service, token-service)
#   DIR/kek             key-encryption key, 32 random bytes base64 (jwks-service)
#   DIR/redis-password  Redis AUTH password
#   DIR/internal-tls/   internal CA + one certificate per service (agentctl certs init)
#   DIR/ingress/        a local CA and the ingress's certificate for 127.0.0.1/localhost
#                       (ingress.pem = certificate + key, as HAProxy reads it)
#   DIR/client-ca/      the CA machine clients' certificates are issued by (tls_client_auth);
#                       the ingress asks clients for a certificate and checks it against ca.pem
# Usage: make-secrets.sh DIR AGENTCTL
# Every file is its owner's alone (umask 077): nothing here is ever world-readable. Docker
# Compose hands each container copies of just its own files (docker-compose.yml,
# service secret-files); the local topology's replicas run as the owner (root).
set -euo pipefail
dir="${1:?secrets dir}"
agentctl="${2:?path to agentctl}"
mkdir -p "$dir"
umask 077
[ -f "$dir/pepper" ] || head -c 32 /dev/urandom | base64 >"$dir/pepper"
[ -f "$dir/kek" ] || head -c 32 /dev/urandom | base64 >"$dir/kek"
[ -f "$dir/redis-password" ] || head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$dir/redis-password"
[ -f "$dir/internal-tls/ca.pem" ] || "$agentctl" certs init --out "$dir/internal-tls" >/dev/null
if [ ! -f "$dir/ingress/ingress.pem" ]; then
    mkdir -p "$dir/ingress"
    (
        cd "$dir/ingress"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
            -subj "/O=agentauth local/CN=agentauth local ingress CA" -keyout ca-key.pem -out ca.pem 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -subj "/O=agentauth local/CN=localhost" -keyout key.pem -out ingress.csr 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >ext.cnf
        openssl x509 -req -in ingress.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 825 \
            -extfile ext.cnf -out cert.pem 2>/dev/null
        cat cert.pem key.pem >ingress.pem
        rm -f ingress.csr ext.cnf
    )
fi
if [ ! -f "$dir/client-ca/ca.pem" ]; then
    mkdir -p "$dir/client-ca"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
        -subj "/O=agentauth local/CN=agentauth local client CA" \
        -keyout "$dir/client-ca/ca-key.pem" -out "$dir/client-ca/ca.pem" 2>/dev/null
fi
# Files an older version made world-readable (its --world-readable) become owner-only.
chmod -R go-rwx "$dir"
