"""A person at a browser (requests, one cookie jar), signing in to agentauth through
their company's identity provider (panva's oidc-provider with its development login and
consent forms), on behalf of a public OAuth client, then redeeming the code as the
client would.

    python3 upstream_browser.py BASE REDIRECT_URI PROVIDER_ID PERSON
        registers a public client (RFC 7591), then prints one JSON line: the access
        token's claims and what the account page says
"""
import base64
import hashlib
import html
import json
import re
import secrets
import sys
from urllib.parse import parse_qs, urlencode, urljoin, urlparse

import requests


def forms(page):
    """Each form's action and its named inputs' values."""
    found = []
    for match in re.finditer(r"<form[^>]*action=\"([^\"]*)\"[^>]*>(.*?)</form>", page, re.S):
        fields = {}
        for field in re.finditer(r"<input([^>]*)>", match.group(2)):
            attributes = dict(re.findall(r"(\w+)=\"([^\"]*)\"", field.group(1)))
            if "name" in attributes:
                fields[attributes["name"]] = html.unescape(attributes.get("value", ""))
        found.append((html.unescape(match.group(1)), fields))
    return found


def main(base, redirect_uri, provider_id, person):
    registered = requests.post(f"{base}/oauth2/register", json={
        "client_name": "MCP client", "redirect_uris": [redirect_uri], "grant_types": ["authorization_code"],
        "token_endpoint_auth_method": "none", "scope": "agent:read",
    })
    assert registered.status_code == 201, registered.text
    client_id = registered.json()["client_id"]
    browser = requests.Session()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(12)
    query = urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
        "scope": "agent:read", "state": state, "code_challenge": challenge, "code_challenge_method": "S256",
    })
    login = browser.get(f"{base}/oauth2/authorize?{query}", allow_redirects=False)
    assert login.status_code == 200, login.text
    action, fields = next((a, f) for a, f in forms(login.text) if f.get("provider") == provider_id)
    sent = browser.post(urljoin(base, action), data=fields, allow_redirects=False)
    assert sent.status_code == 303, sent.text
    # At the provider: its login form (any name), then its consent form; it sends the
    # browser back to agentauth, which shows its own consent page.
    page = browser.get(sent.headers["location"])
    seen = []
    for _ in range(4):
        if page.url.startswith(base):
            break
        action, fields = forms(page.text)[0]
        if "login" in fields:
            seen.append("login")
            fields.update(login=person, password="any")
        else:
            seen.append("consent")
        page = browser.post(urljoin(page.url, action), data=fields)
    said = re.search(r"<p id=\"error\">(.*?)</p>", page.text)
    assert page.url.startswith(base) and page.status_code == 200, (page.url, page.status_code, said and said.group(1))
    action, fields = next((a, f) for a, f in forms(page.text) if a.endswith("/consent"))
    back = browser.post(urljoin(base, action), data={**fields, "decision": "allow"}, allow_redirects=False)
    assert back.status_code == 303, back.text
    answer = parse_qs(urlparse(back.headers["location"]).query)
    assert answer["state"] == [state], answer
    token = requests.post(f"{base}/oauth2/token", data={
        "grant_type": "authorization_code", "code": answer["code"][0], "client_id": client_id,
        "redirect_uri": redirect_uri, "code_verifier": verifier,
    })
    assert token.status_code == 200, token.text
    payload = token.json()["access_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    account = browser.get(f"{base}/agent/account").text
    said = re.search(r"<span id=\"signed-in-with\">(.*?)</span>", account, re.S)
    # Signing out at the provider: it tells agentauth over the back channel, which ends
    # this browser's session there.
    idp = "http://" + urlparse(sent.headers["location"]).netloc
    end = browser.get(f"{idp}/session/end")
    action, fields = forms(end.text)[0]
    done = browser.post(urljoin(end.url, action), data={**fields, "logout": "yes"})
    assert done.status_code == 200, done.text
    after = browser.get(f"{base}/agent/account").text
    print(json.dumps({
        "signed_out_by_provider": "Signed in as" not in after and f"provider-{provider_id}" in after,
        "sub": claims["sub"], "client_id": claims["client_id"], "scope": claims["scope"],
        "registered_client_id": client_id,
        "account_signed_in_with": said and " ".join(said.group(1).split()),
        "account_email": person + "@corp.example" in account,
        "provider_pages": seen,
    }))


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
