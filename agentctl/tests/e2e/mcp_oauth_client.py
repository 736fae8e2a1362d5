"""The official MCP Python SDK's OAuth client against agentauth, as an MCP client meets it.

Usage: mcp_oauth_client.py <issuer> <resource port> <outbox dir> [<document port> <cert> <key>]

Runs a minimal protected MCP endpoint at http://127.0.0.1:<port>/mcp (RFC 9728 metadata,
401 with `resource_metadata`, tokens verified with PyJWT against agentauth's JWKS and
the resource as audience). `mcp.client.auth.OAuthClientProvider` then does everything
on its own: discovery, dynamic client registration, the authorization request with
PKCE and `resource`, the token request, and later a refresh. Given a document port and
a TLS certificate, the client is named by its client ID metadata document instead,
served over https at https://localhost:<port>/client.json. The human's part (email,
the mailed code, consent) is played over HTTP by `Human`, reading the code from the
development outbox; with UPSTREAM_PROVIDER set in the environment, the human signs in
at that identity provider instead (its login and consent forms, as
`upstream_browser.py` plays them). Prints one JSON line of what it saw.
"""

import asyncio
import glob
import html
import json
import os
import re
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

import httpx2
import jwt
import requests
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.shared.auth import OAuthClientMetadata

ISSUER, PORT, OUTBOX = sys.argv[1], int(sys.argv[2]), sys.argv[3]
CIMD = sys.argv[4:7] if len(sys.argv) > 6 else None
RESOURCE = f"http://127.0.0.1:{PORT}/mcp"
METADATA = f"http://127.0.0.1:{PORT}/.well-known/oauth-protected-resource/mcp"
REDIRECT = "http://127.0.0.1:33419/callback"
JWKS = jwt.PyJWKClient(f"{ISSUER}/.well-known/jwks.json")
SEEN = {"subjects": []}
UPSTREAM = os.environ.get("UPSTREAM_PROVIDER")


class McpEndpoint(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/.well-known/oauth-protected-resource/mcp":
            return self.reply(200, {
                "resource": RESOURCE,
                "authorization_servers": [ISSUER],
                "scopes_supported": ["agent:read"],
                "bearer_methods_supported": ["header"],
            })
        challenge = f'Bearer resource_metadata="{METADATA}", scope="agent:read"'
        header = self.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return self.reply(401, {"error": "unauthorized"}, [("www-authenticate", challenge)])
        token = header[len("Bearer "):]
        try:
            key = JWKS.get_signing_key_from_jwt(token)
            claims = jwt.decode(token, key.key, algorithms=["ES256"], audience=RESOURCE, issuer=ISSUER)
        except jwt.PyJWTError as error:
            return self.reply(401, {"error": str(error)}, [("www-authenticate", challenge)])
        SEEN["subjects"].append(claims["sub"])
        return self.reply(200, {"sub": claims["sub"], "scope": claims["scope"]})


class Document(BaseHTTPRequestHandler):
    """The client's metadata document, the client id being its URL."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        url = f"https://localhost:{CIMD[0]}/client.json"
        data = json.dumps({
            "client_id": url,
            "client_name": "MCP Python SDK (metadata document)",
            "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        }).encode()
        self.send_response(200 if self.path == "/client.json" else 404)
        self.send_header("content-type", "application/json")
        self.send_header("cache-control", "max-age=300")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve_document():
    """https://localhost:<port>/client.json, with the given certificate."""
    port, cert, key = CIMD
    server = ThreadingHTTPServer(("127.0.0.1", int(port)), Document)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"https://localhost:{port}/client.json"


class Human:
    """Signs in with the mailed code and allows the request, as a person in a browser."""

    def __init__(self):
        self.result = None

    def field(self, page, name):
        found = re.search(f'name="{name}" value="([^"]*)"', page)
        return html.unescape(found.group(1))

    def newest_code(self):
        mails = sorted(glob.glob(os.path.join(OUTBOX, "*.eml")))
        text = open(mails[-1]).read().replace("=\r\n", "").replace("=\n", "")
        return re.search(r"is:\s+(\d{6})\s", text).group(1)

    async def redirect(self, authorization_url):
        await asyncio.to_thread(self.authorize, authorization_url)

    def authorize(self, authorization_url):
        browser = requests.Session()
        query = urlparse(authorization_url).query
        login = browser.get(authorization_url, allow_redirects=False, timeout=10)
        assert login.status_code == 200, login.text
        if UPSTREAM:
            consent = self.at_provider(browser, login.text)
        else:
            form = {"request": query, "csrf": self.field(login.text, "csrf"), "email": "ada@example.com"}
            sent = browser.post(f"{ISSUER}/oauth2/authorize/login", data=form, allow_redirects=False, timeout=10)
            assert sent.status_code == 200, sent.text
            form = {"request": query, "csrf": self.field(sent.text, "csrf"), "code": self.newest_code()}
            consent = browser.post(f"{ISSUER}/oauth2/authorize/verify", data=form, allow_redirects=False, timeout=10)
        assert consent.status_code == 200, consent.text
        form = {"request": query, "csrf": self.field(consent.text, "csrf"), "decision": "allow"}
        back = browser.post(f"{ISSUER}/oauth2/authorize/consent", data=form, allow_redirects=False, timeout=10)
        assert back.status_code == 303, back.text
        location = back.headers["location"]
        assert location.startswith(REDIRECT), location
        params = {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}
        self.result = AuthorizationCodeResult(code=params["code"], state=params.get("state"), iss=params.get("iss"))

    def at_provider(self, browser, login_page):
        """The provider's button, its login and consent forms, and back: our consent page."""
        from upstream_browser import forms  # beside this script

        action, fields = next((a, f) for a, f in forms(login_page) if f.get("provider") == UPSTREAM)
        sent = browser.post(f"{ISSUER}{action}", data=fields, allow_redirects=False, timeout=10)
        assert sent.status_code == 303, sent.text
        page = browser.get(sent.headers["location"], timeout=10)
        for _ in range(4):
            if page.url.startswith(ISSUER):
                break
            action, fields = forms(page.text)[0]
            if "login" in fields:
                fields.update(login="ada", password="any")
            page = browser.post(requests.compat.urljoin(page.url, action), data=fields, timeout=10)
        assert page.url.startswith(ISSUER), page.url
        return page

    async def callback(self):
        return self.result


class MemoryStorage:
    def __init__(self):
        self.tokens = None
        self.client = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client

    async def set_client_info(self, client_info):
        self.client = client_info


async def main():
    server = ThreadingHTTPServer(("127.0.0.1", PORT), McpEndpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    human, storage = Human(), MemoryStorage()
    document_url = serve_document() if CIMD else None
    provider = OAuthClientProvider(
        server_url=RESOURCE,
        client_metadata=OAuthClientMetadata(
            client_name="MCP Python SDK",
            redirect_uris=[REDIRECT],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=human.redirect,
        callback_handler=human.callback,
        client_metadata_url=document_url,
    )
    async with httpx2.AsyncClient(auth=provider, timeout=10) as client:
        first = await client.get(RESOURCE)
        assert first.status_code == 200, first.text
        token, refresh = storage.tokens.access_token, storage.tokens.refresh_token
        # The access token's lifetime passing, as the SDK measures it: its next request
        # must refresh first.
        provider.context.token_expiry_time = time.time() - 1
        second = await client.get(RESOURCE)
        assert second.status_code == 200, second.text
        # The rotated-away refresh token, presented again: refused, and its family dies.
        reuse = await client.post(
            f"{ISSUER}/oauth2/token",
            data={"grant_type": "refresh_token", "refresh_token": refresh, "client_id": storage.client.client_id},
        )
    server.shutdown()
    print(json.dumps({
        "client_id": storage.client.client_id,
        "document_url": document_url,
        "first": first.json(),
        "second": second.json(),
        "refreshed": storage.tokens.access_token != token and storage.tokens.refresh_token != refresh,
        "reuse_status": reuse.status_code,
        "reuse_error": reuse.json().get("error"),
    }))


if __name__ == "__main__":
    asyncio.run(main())
