"""A machine client in a pod, written only against authlib: its credential is the
service-account token the kubelet projects into a file, read again on every token
request (the kubelet rotates it), and sent as the RFC 7523 §2.2 client assertion through
authlib's documented hook for a client authentication method of one's own.

    python3 authlib_workload.py TOKEN_URL CLIENT_ID TOKEN_FILE ROTATED_FILE
        requests a token, then stands in for the kubelet's rotation (ROTATED_FILE
        replaces TOKEN_FILE atomically), then requests another; prints one JSON line:
        what each request was issued, and which assertion it sent
"""
import base64
import hashlib
import json
import os
import sys
from urllib.parse import urlencode

from authlib.integrations.requests_client import OAuth2Session

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def claims(jwt):
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def main(token_url, client_id, token_file, rotated_file):
    sent = []

    def workload_assertion(auth, method, uri, headers, body):
        # Never cached: the file is read on every request.
        with open(token_file) as f:
            token = f.read().strip()
        sent.append(hashlib.sha256(token.encode()).hexdigest()[:16])
        extra = urlencode({"client_assertion_type": ASSERTION_TYPE, "client_assertion": token})
        return uri, headers, f"{body}&{extra}" if body else extra

    session = OAuth2Session(client_id, token_endpoint_auth_method="workload_token_file")
    session.register_client_auth_method(("workload_token_file", workload_assertion))
    issued = []
    for round in range(2):
        token = session.fetch_token(token_url, grant_type="client_credentials")
        access = claims(token["access_token"])
        issued.append({"client_id": access["client_id"], "sub": access["sub"], "scope": token["scope"],
                       "token_type": token["token_type"]})
        if round == 0:
            os.replace(rotated_file, token_file)
    print(json.dumps({"issued": issued, "assertions_sent": sent}))


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
