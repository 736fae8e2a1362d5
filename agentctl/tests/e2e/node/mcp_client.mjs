// The official MCP TypeScript SDK's OAuth client (`auth` from
// @modelcontextprotocol/sdk/client/auth.js) against agentauth, as an MCP client meets it:
// a protected MCP endpoint answers 401 with `resource_metadata`; the SDK discovers the
// authorization server, registers (RFC 7591), sends the human to the authorization
// endpoint with PKCE and `resource`, redeems the code, and later refreshes. The endpoint
// verifies tokens with jose against agentauth's JWKS, the resource as audience
// (protected_endpoint.mjs). The
// human's part (email, the mailed code, consent) is played over HTTP, the code read from
// the development outbox.
//
//   node mcp_client.mjs ISSUER PORT OUTBOX [DOCUMENT_PORT CERT KEY]
//       prints one JSON line of what it saw; with a document port and a TLS certificate
//       the client names itself by a client ID metadata document served over https at
//       https://localhost:DOCUMENT_PORT/client.json instead of registering
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { consents } from './human.mjs';
import { protectedEndpoint } from './protected_endpoint.mjs';
import { auth, extractResourceMetadataUrl } from '@modelcontextprotocol/sdk/client/auth.js';

const [issuer, port, outbox, documentPort, cert, key] = process.argv.slice(2);
const REDIRECT = 'http://127.0.0.1:33420/callback';
const server = await protectedEndpoint({ issuer, port, scopes: ['agent:read'] });
const RESOURCE = server.resource;

let documentUrl;
let documentServer;
if (documentPort) {
  documentUrl = `https://localhost:${documentPort}/client.json`;
  documentServer = https.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
    res.writeHead(req.url === '/client.json' ? 200 : 404, { 'content-type': 'application/json', 'cache-control': 'max-age=300' });
    res.end(JSON.stringify({
      client_id: documentUrl,
      client_name: 'MCP TypeScript SDK (metadata document)',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }));
  });
  await new Promise((resolve) => documentServer.listen(Number(documentPort), '127.0.0.1', resolve));
}

const provider = {
  clientMetadataUrl: documentUrl,
  get redirectUrl() { return REDIRECT; },
  get clientMetadata() {
    return {
      client_name: 'MCP TypeScript SDK',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  },
  state() { return (this.sentState = randomBytes(16).toString('base64url')); },
  clientInformation() { return this.client; },
  saveClientInformation(client) { this.client = client; },
  tokens() { return this.saved; },
  saveTokens(tokens) { this.saved = tokens; },
  async redirectToAuthorization(url) { this.callback = (await consents({ issuer, outbox, authorizationUrl: url })).back; },
  saveCodeVerifier(verifier) { this.verifier = verifier; },
  codeVerifier() { return this.verifier; },
};

const call = (token) => fetch(RESOURCE, token ? { headers: { authorization: `Bearer ${token}` } } : {});
const unauthorized = await call();
const resourceMetadataUrl = extractResourceMetadataUrl(unauthorized);
const options = { serverUrl: RESOURCE, resourceMetadataUrl };
const started = await auth(provider, options);
const callback = provider.callback;
if (callback.searchParams.get('state') !== provider.sentState) throw new Error('state mismatch');
const authorized = await auth(provider, { ...options, authorizationCode: callback.searchParams.get('code') });
const firstTokens = provider.saved;
const first = await (await call(firstTokens.access_token)).json();
// With a refresh token stored, the SDK's next `auth` refreshes.
const refreshed = await auth(provider, options);
const second = await (await call(provider.saved.access_token)).json();
const reuse = await fetch(`${issuer}/oauth2/token`, {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: firstTokens.refresh_token, client_id: provider.client.client_id }),
});
server.close();
documentServer?.close();
console.log(JSON.stringify({
  unauthorized: unauthorized.status,
  started,
  authorized,
  refreshed,
  iss: callback.searchParams.get('iss'),
  client_id: provider.client.client_id,
  document_url: documentUrl ?? null,
  first,
  second,
  rotated: provider.saved.refresh_token !== firstTokens.refresh_token && provider.saved.access_token !== firstTokens.access_token,
  reuse_status: reuse.status,
  reuse_error: (await reuse.json()).error,
}));
