"""A machine client with a TLS client certificate, written only against requests, as a
user of agentauth would write one (RFC 8705 tls_client_auth through the ingress).

    python3 mtls_client.py ISSUER CA CLIENT_ID CERT KEY [FORGED_HEADER_VALUE]

With a certificate (CERT and KEY not "-"): client_credentials authenticated by it.
Without one, FORGED_HEADER_VALUE is sent as the certificate header the ingress sets, as
an attacker would. Prints one JSON line: the status and body of the token response.
"""
import json
import sys

import requests

issuer, ca, client_id, cert, key = sys.argv[1:6]
forged = sys.argv[6] if len(sys.argv) > 6 else None
kwargs = {"verify": ca, "timeout": 10}
if cert != "-":
    kwargs["cert"] = (cert, key)
if forged:
    kwargs["headers"] = {"X-Client-Cert": forged, "X-Client-Cert-Verify": "0"}
response = requests.post(
    f"{issuer}/oauth2/token",
    data={"grant_type": "client_credentials", "client_id": client_id},
    **kwargs,
)
print(json.dumps({"status": response.status_code, "body": response.json()}))
