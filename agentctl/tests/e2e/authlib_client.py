"""A machine client written only against authlib (its requests integration), as a
user of agentauth would write one: private_key_jwt (RFC 7523 §2.2), then
client_credentials.

    python3 authlib_client.py keygen DIR [VARIANT]
        writes DIR/public.jwks (to register) and DIR/private.pem
    python3 authlib_client.py token TOKEN_URL CLIENT_ID DIR SCOPE [VARIANT]
        prints one JSON line: what was issued, and the assertion's header as sent

VARIANT (default RS256), the same for both commands:
    RS256        RSA 2048; the registered JWK says alg RS256
    Ed25519      an Ed25519 key signing with alg "Ed25519" (RFC 9864), which authlib
                 (through joserfc) supports; the registered JWK says alg Ed25519
    PS256-noalg  RSA 2048 signing PS256; the registered JWK has no alg, as
                 RFC 7517 §4.4 allows and PyJWT's to_jwk writes it
"""
import base64
import json
import sys
from urllib.parse import parse_qs

from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from joserfc import jws
from joserfc.jwk import OKPKey

KID = "py-client"
# variant -> (signing alg, alg in the registered JWK or None)
VARIANTS = {
    "RS256": ("RS256", "RS256"),
    "Ed25519": ("Ed25519", "Ed25519"),
    "PS256-noalg": ("PS256", None),
}
USAGE = (
    "usage: authlib_client.py keygen DIR [VARIANT] | token TOKEN_URL CLIENT_ID DIR SCOPE [VARIANT]\n"
    f"VARIANT is one of {', '.join(VARIANTS)}"
)


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_int(number):
    return b64url(number.to_bytes((number.bit_length() + 7) // 8, "big"))


def keygen(directory, variant):
    alg, registered_alg = VARIANTS[variant]
    if alg == "Ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
        raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        public = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = key.public_key().public_numbers()
        public = {"kty": "RSA", "n": b64url_int(numbers.n), "e": b64url_int(numbers.e)}
    public.update({"kid": KID, "use": "sig"})
    if registered_alg is not None:
        public["alg"] = registered_alg
    with open(f"{directory}/public.jwks", "w") as out:
        json.dump({"keys": [public]}, out)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with open(f"{directory}/private.pem", "wb") as out:
        out.write(pem)


def token(token_url, client_id, directory, scope, variant):
    alg, _ = VARIANTS[variant]
    with open(f"{directory}/private.pem") as pem:
        key = pem.read()
    # authlib takes the private key where a secret would go. A PEM string is read as an
    # RSA key; any other kind has to be passed as a joserfc key.
    if alg == "Ed25519":
        key = OKPKey.import_key(key)
    session = OAuth2Session(client_id, key, token_endpoint_auth_method="private_key_jwt", scope=scope)
    auth = PrivateKeyJWT(token_url, headers={"kid": KID}, alg=alg)
    session.register_client_auth_method(auth)
    sent = []
    session.hooks["response"].append(lambda response, **_: sent.append(response.request.body))
    try:
        issued = session.fetch_token(token_url, grant_type="client_credentials")
    except OAuthError as error:
        sys.exit(f"authlib_client.py token ({variant}): refused: {error.error}: {error.description}")
    # The header of the assertion authlib actually sent, so the test sees the alg name.
    body = sent[-1].decode() if isinstance(sent[-1], bytes) else sent[-1]
    (assertion,) = parse_qs(body)["client_assertion"]
    header = jws.extract_compact(assertion.encode()).headers()
    shown = {k: issued.get(k) for k in ("token_type", "scope", "expires_in", "access_token")}
    print(json.dumps({**shown, "client_assertion_header": header}))


def main(argv):
    commands = {"keygen": (keygen, 1), "token": (token, 4)}
    if not argv or argv[0] not in commands:
        sys.exit(USAGE)
    command, fixed = commands[argv[0]]
    args = argv[1:]
    if len(args) == fixed:
        args.append("RS256")
    if len(args) != fixed + 1 or args[-1] not in VARIANTS:
        sys.exit(USAGE)
    command(*args)


if __name__ == "__main__":
    main(sys.argv[1:])
