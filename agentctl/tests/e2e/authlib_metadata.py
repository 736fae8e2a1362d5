"""authlib's RFC 8414 validation of a discovery document, as a client library checks it.

Usage: authlib_metadata.py <discovery URL>
Prints one JSON line: the fields MCP clients read; exits non-zero if validation fails.
"""

import json
import sys

import requests
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata


def main():
    url = sys.argv[1]
    document = requests.get(url, timeout=10).json()
    metadata = AuthorizationServerMetadata(document)
    # Raises ValueError naming the first invalid field.
    metadata.validate()
    print(json.dumps({
        "issuer": metadata["issuer"],
        "authorization_endpoint": metadata["authorization_endpoint"],
        "response_types_supported": metadata["response_types_supported"],
        "code_challenge_methods_supported": metadata["code_challenge_methods_supported"],
        "grant_types_supported": metadata["grant_types_supported"],
    }))


if __name__ == "__main__":
    main()
