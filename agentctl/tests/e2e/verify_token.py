#!/usr/bin/env python3
"""Verify an agentauth access token with a stock library, as a resource server would.

usage: verify_token.py JWKS_URI ISSUER AUDIENCE ACCESS_TOKEN

Fetches the signing key from JWKS_URI with PyJWT's PyJWKClient, checks the RFC 9068
header type, signature, iss, aud and exp, and prints the claims as JSON. Exits non-zero
on any failure: 3 when the token is rejected, 2 on bad usage, 1 when the script itself
fails (PyJWT missing, for one), so a caller can tell a rejected token from a broken setup.
"""

import json
import sys

import jwt

REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "jti"]
TOKEN_REJECTED = 3


def verify(jwks_uri: str, issuer: str, audience: str, token: str) -> dict:
    header = jwt.get_unverified_header(token)
    # RFC 9068 §4: resource servers must reject access tokens not typed "at+jwt".
    if header.get("typ", "").lower() not in ("at+jwt", "application/at+jwt"):
        raise jwt.InvalidTokenError(f"header typ is {header.get('typ')!r}, not at+jwt")
    key = jwt.PyJWKClient(jwks_uri).get_signing_key_from_jwt(token)
    return jwt.decode(
        token,
        key,
        algorithms=["ES256"],
        audience=audience,
        issuer=issuer,
        options={"require": REQUIRED_CLAIMS},
    )


def main() -> int:
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        claims = verify(*sys.argv[1:])
    except jwt.PyJWKClientConnectionError:
        raise  # no JWKS to check against: a broken setup, not a rejected token
    except jwt.PyJWTError as error:
        print(f"token rejected: {type(error).__name__}: {error}", file=sys.stderr)
        return TOKEN_REJECTED
    print(json.dumps(claims))
    return 0


if __name__ == "__main__":
    sys.exit(main())
