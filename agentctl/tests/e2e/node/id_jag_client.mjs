// MCP enterprise-managed authorization with the official MCP TypeScript SDK (v2,
// @modelcontextprotocol/client): its CrossAppAccessProvider against agentauth. A person
// signs in at the company IdP (company_idp.mjs, oidc-provider) for the MCP client and
// the client holds the ID token; a protected MCP endpoint answers 401 with
// `resource_metadata`; the SDK discovers agentauth as its authorization server, gets an
// ID-JAG from the IdP by RFC 8693 token exchange (discoverAndRequestJwtAuthGrant), and
// presents it to agentauth as a jwt-bearer grant with client_secret_basic. The endpoint
// verifies the token with jose against agentauth's JWKS, the resource as audience
// (protected_endpoint.mjs). Then
// the same ID-JAG once more, which agentauth must refuse.
//
//   node id_jag_client.mjs ISSUER PORT IDP_ISSUER IDP_CLIENT_SECRET CLIENT_ID CLIENT_SECRET PERSON
//       prints one JSON line of what it saw
import { createHash, randomBytes } from 'node:crypto';
import * as jose from 'jose';
import {
  auth,
  CrossAppAccessProvider,
  discoverAndRequestJwtAuthGrant,
  extractResourceMetadataUrl,
} from '@modelcontextprotocol/client';
import { protectedEndpoint } from './protected_endpoint.mjs';

const [issuer, port, idpIssuer, idpClientSecret, clientId, clientSecret, person] = process.argv.slice(2);
const IDP_CLIENT = 'mcp-client';
const IDP_REDIRECT = 'http://127.0.0.1:33421/callback';
const server = await protectedEndpoint({ issuer, port, scopes: ['tickets:read', 'tickets:write'] });
const RESOURCE = server.resource;

/** The person at the IdP's development login and consent forms, for the MCP client:
 * one cookie jar, redirects read rather than followed, until the IdP sends the browser
 * back to the client's redirect URI with a code; then the client redeems it. */
async function signInAtIdp() {
  const jar = new Map();
  const send = async (url, form) => {
    const response = await fetch(url, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        cookie: [...jar].map(([name, value]) => `${name}=${value}`).join('; '),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body: form ? new URLSearchParams(form) : undefined,
    });
    for (const set of response.headers.getSetCookie()) {
      const [pair] = set.split(';');
      const at = pair.indexOf('=');
      jar.set(pair.slice(0, at), pair.slice(at + 1));
    }
    return response;
  };
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(12).toString('base64url');
  const start = new URL(`${idpIssuer}/auth`);
  for (const [name, value] of Object.entries({
    client_id: IDP_CLIENT,
    response_type: 'code',
    redirect_uri: IDP_REDIRECT,
    scope: 'openid email',
    state,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  })) start.searchParams.set(name, value);
  let url = start.href;
  let response = await send(url);
  const pages = [];
  for (let step = 0; step < 12 && !url.startsWith(IDP_REDIRECT); step += 1) {
    if (response.status >= 300 && response.status < 400) {
      url = new URL(response.headers.get('location'), url).href;
      if (url.startsWith(IDP_REDIRECT)) break;
      response = await send(url);
      continue;
    }
    if (response.status !== 200) throw new Error(`IdP page ${url}: ${response.status} ${await response.text()}`);
    const page = await response.text();
    const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/.exec(page);
    if (!form) throw new Error(`no form at ${url}: ${page}`);
    const fields = {};
    for (const [, attributes] of form[2].matchAll(/<input([^>]*)>/g)) {
      const named = Object.fromEntries([...attributes.matchAll(/(\w+)="([^"]*)"/g)].map(([, k, v]) => [k, v]));
      if (named.name) fields[named.name] = named.value ?? '';
    }
    if ('login' in fields) {
      pages.push('login');
      Object.assign(fields, { login: person, password: 'any' });
    } else {
      pages.push('consent');
    }
    url = new URL(form[1], url).href;
    response = await send(url, fields);
  }
  const back = new URL(url);
  if (back.searchParams.get('state') !== state) throw new Error(`IdP redirect: ${url}`);
  const tokens = await fetch(`${idpIssuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: back.searchParams.get('code'),
      redirect_uri: IDP_REDIRECT,
      code_verifier: verifier,
      client_id: IDP_CLIENT,
      client_secret: idpClientSecret,
    }),
  });
  if (tokens.status !== 200) throw new Error(`IdP token: ${tokens.status} ${await tokens.text()}`);
  return { idToken: (await tokens.json()).id_token, pages };
}

const { idToken, pages } = await signInAtIdp();
const jags = [];
const provider = new CrossAppAccessProvider({
  assertion: async (ctx) => {
    const result = await discoverAndRequestJwtAuthGrant({
      idpUrl: idpIssuer,
      audience: ctx.authorizationServerUrl,
      resource: ctx.resourceUrl,
      idToken,
      clientId: IDP_CLIENT,
      clientSecret: idpClientSecret,
      scope: ctx.scope,
      fetchFn: ctx.fetchFn,
    });
    jags.push(result.jwtAuthGrant);
    return result.jwtAuthGrant;
  },
  clientId,
  clientSecret,
  clientName: 'Corp MCP client',
  expectedIssuer: issuer,
});

const call = (token) => fetch(RESOURCE, token ? { headers: { authorization: `Bearer ${token}` } } : {});
const unauthorized = await call();
const resourceMetadataUrl = extractResourceMetadataUrl(unauthorized);
const authorized = await auth(provider, { serverUrl: RESOURCE, resourceMetadataUrl });
const tokens = provider.tokens();
const seen = await (await call(tokens.access_token)).json();
// The same ID-JAG again, as an attacker who copied it would present it.
const replay = await fetch(`${issuer}/oauth2/token`, {
  method: 'POST',
  headers: {
    'content-type': 'application/x-www-form-urlencoded',
    authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`,
  },
  body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: jags.at(-1) }),
});
const jag = jose.decodeJwt(jags.at(-1));
server.close();
console.log(JSON.stringify({
  idp_pages: pages,
  unauthorized: unauthorized.status,
  authorized,
  id_jags: jags.length,
  id_jag_header: jose.decodeProtectedHeader(jags.at(-1)),
  id_jag: { iss: jag.iss, aud: jag.aud, client_id: jag.client_id, resource: jag.resource, scope: jag.scope, sub: jag.sub },
  token_type: tokens.token_type,
  token_scope: tokens.scope ?? null,
  refresh_token: tokens.refresh_token ?? null,
  seen,
  replay_status: replay.status,
  replay_error: (await replay.json()).error,
}));
