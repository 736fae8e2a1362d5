"""DPoP proofs for bench/bench.py.

    agents.py proofs HTU N           prints N DPoP proofs (RFC 9449) for POST HTU, each
                                     with its own jti, signed by one ES256 key
"""
import base64
import json
import secrets
import sys
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def proofs(htu, count):
    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-256", "x": b64(numbers.x.to_bytes(32, "big")), "y": b64(numbers.y.to_bytes(32, "big"))}
    header = b64(json.dumps({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk}, separators=(",", ":")).encode())
    now = int(time.time())
    out = []
    for _ in range(count):
        claims = {"htm": "POST", "htu": htu, "iat": now, "jti": secrets.token_urlsafe(12)}
        signing_input = f"{header}.{b64(json.dumps(claims, separators=(',', ':')).encode())}"
        r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        out.append(f"{signing_input}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "proofs":
        proofs(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(__doc__)
