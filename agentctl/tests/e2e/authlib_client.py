"""A machine client written only against authlib (its requests integration), as a
user of agentauth would write one: private_key_jwt (RFC 7523 §2.2) with an RSA key,
then client_credentials.

    python3 authlib_client.py keygen DIR
        writes DIR/public.jwks (to register) and DIR/private.pem
    python3 authlib_client.py token TOKEN_URL CLIENT_ID DIR SCOPE
        prints one JSON line: what was issued
"""
import base64
import json
import sys

from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KID = "py-client"


def b64url(number):
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def keygen(directory):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = key.public_key().public_numbers()
    public = {"kty": "RSA", "n": b64url(numbers.n), "e": b64url(numbers.e), "kid": KID, "alg": "RS256", "use": "sig"}
    with open(f"{directory}/public.jwks", "w") as out:
        json.dump({"keys": [public]}, out)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with open(f"{directory}/private.pem", "wb") as out:
        out.write(pem)


def token(token_url, client_id, directory, scope):
    with open(f"{directory}/private.pem") as pem:
        key = pem.read()
    # authlib takes the private key where a secret would go.
    session = OAuth2Session(client_id, key, token_endpoint_auth_method="private_key_jwt", scope=scope)
    session.register_client_auth_method(PrivateKeyJWT(token_url, headers={"kid": KID}, alg="RS256"))
    issued = session.fetch_token(token_url, grant_type="client_credentials")
    print(json.dumps({k: issued.get(k) for k in ("token_type", "scope", "expires_in", "access_token")}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["keygen"]:
        keygen(sys.argv[2])
    elif sys.argv[1:2] == ["token"]:
        token(*sys.argv[2:6])
    else:
        sys.exit("usage: authlib_client.py keygen DIR | token TOKEN_URL CLIENT_ID DIR SCOPE")
