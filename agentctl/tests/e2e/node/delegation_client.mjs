// Delegation (RFC 8693 token exchange) written only against oauth4webapi and jose, as a
// user of agentauth would write it: three machine clients (orchestrator, researcher,
// summarizer) with client_secret_basic. The orchestrator gets its own token for
// RESOURCE and hands it to the researcher, who hands it on to the summarizer, each
// hop a genericTokenEndpointRequest with the actor's own token as actor_token. jose
// verifies the last token against the published JWKS with RESOURCE as audience and
// reads its nested act. Then the orchestrator revokes its own token, and introspection
// reports all three inactive.
//
//   node delegation_client.mjs chain ISSUER RESOURCE O_ID O_SECRET R_ID R_SECRET S_ID S_SECRET
//   node delegation_client.mjs once ISSUER RESOURCE O_ID O_SECRET R_ID R_SECRET
//       one hop only; prints the token endpoint's error when it refuses
//   node delegation_client.mjs human ISSUER RESOURCE OUTBOX R_ID R_SECRET S_ID S_SECRET RS_ID RS_SECRET
//       the orchestrator is an MCP-style client that registers itself with its own key
//       (RFC 7591, private_key_jwt); a human (human.mjs) allows it with "may hand this
//       on" ticked; it hands the human's token to the researcher, who hands it on to
//       the summarizer; jose verifies the last one; the human revokes the grant on
//       /agent/account and introspection (as RS) reports all three inactive
// Each prints one JSON line of what it saw.
import * as oauth from 'oauth4webapi';
import * as jose from 'jose';
import { consents, csrf } from './human.mjs';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const REDIRECT = 'http://127.0.0.1:33422/callback';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const [mode, issuer, resource, ...rest] = process.argv.slice(2);
const outbox = mode === 'human' ? rest.shift() : undefined;
const credentials = rest;
const insecure = { [oauth.allowInsecureRequests]: true };
const issuerUrl = new URL(issuer);
const as = await oauth.processDiscoveryResponse(
  issuerUrl,
  await oauth.discoveryRequest(issuerUrl, { ...insecure, algorithm: 'oauth2' }),
);
const party = (id, secret) => ({ client: { client_id: id }, auth: oauth.ClientSecretBasic(secret) });
const parties = [0, 2, 4, 6].filter((i) => credentials[i]).map((i) => party(credentials[i], credentials[i + 1]));
const [orchestrator, researcher, summarizer] = mode === 'human' ? [await registered(), ...parties] : parties;

async function ownToken({ client, auth }, parameters = {}) {
  const response = await oauth.clientCredentialsGrantRequest(as, client, auth, parameters, insecure);
  return (await oauth.processClientCredentialsResponse(as, client, response)).access_token;
}

/** `requester` exchanges `subjectToken` for `actorToken`'s party. */
async function delegate({ client, auth }, subjectToken, actorToken, parameters = {}) {
  const response = await oauth.genericTokenEndpointRequest(
    as,
    client,
    auth,
    TOKEN_EXCHANGE,
    {
      subject_token: subjectToken,
      subject_token_type: ACCESS_TOKEN,
      actor_token: actorToken,
      actor_token_type: ACCESS_TOKEN,
      ...parameters,
    },
    insecure,
  );
  return oauth.processGenericTokenEndpointResponse(as, client, response);
}

async function active({ client, auth }, token) {
  const response = await oauth.introspectionRequest(as, client, auth, token, insecure);
  return (await oauth.processIntrospectionResponse(as, client, response)).active;
}

/** An MCP-style client registering itself with its own key: its client and auth. */
async function registered() {
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256');
  const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'orchestrator-1', alg: 'ES256', use: 'sig' };
  const response = await fetch(as.registration_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'Orchestrator',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [jwk] },
      scope: 'agent:read',
    }),
  });
  if (response.status !== 201) throw new Error(`registration: ${response.status} ${await response.text()}`);
  const { client_id } = await response.json();
  return { client: { client_id }, auth: oauth.PrivateKeyJwt({ key: privateKey, kid: 'orchestrator-1' }) };
}

/** The human allows the orchestrator, ticking "may hand this on": their token, and the browser. */
async function humanToken() {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const authorizationUrl = new URL(as.authorization_endpoint);
  authorizationUrl.search = new URLSearchParams({
    response_type: 'code',
    client_id: orchestrator.client.client_id,
    redirect_uri: REDIRECT,
    scope: 'agent:read',
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    resource,
  }).toString();
  const { back, send } = await consents({ issuer, outbox, authorizationUrl, delegate: true });
  const params = oauth.validateAuthResponse(as, orchestrator.client, back, state);
  const response = await oauth.authorizationCodeGrantRequest(
    as, orchestrator.client, orchestrator.auth, params, REDIRECT, verifier, insecure,
  );
  const tokens = await oauth.processAuthorizationCodeResponse(as, orchestrator.client, response);
  return { token: tokens.access_token, send };
}

const { token: root, send: browser } = mode === 'human' ? await humanToken() : { token: await ownToken(orchestrator, { resource }) };
if (mode === 'once') {
  try {
    await delegate(orchestrator, root, await ownToken(researcher));
    console.log(JSON.stringify({ refused: false }));
  } catch (err) {
    if (!(err instanceof oauth.ResponseBodyError)) throw err;
    console.log(JSON.stringify({ refused: true, status: err.status, error: err.error }));
  }
  process.exit(0);
}

const scope = mode === 'human' ? 'agent:read' : 'reports:read';
const first = await delegate(orchestrator, root, await ownToken(researcher), { resource, scope });
const second = await delegate(researcher, first.access_token, await ownToken(summarizer));
const jwks = jose.createRemoteJWKSet(new URL(as.jwks_uri));
const { payload, protectedHeader } = await jose.jwtVerify(second.access_token, jwks, {
  issuer,
  audience: resource,
  typ: 'at+jwt',
});
// Introspection as a resource server: the orchestrator itself, or RS.
const introspector = mode === 'human' ? parties[2] : orchestrator;
const before = await active(introspector, second.access_token);
let listed = null;
if (mode === 'human') {
  // The human sees both hand-ons on their account page, then revokes the grant there.
  const page = await (await browser(`${issuer}/agent/account`)).text();
  listed = [first, second].map((t) => page.includes(`id="delegation-${jose.decodeJwt(t.access_token).jti}"`));
  const revoked = await browser(`${issuer}/agent/account/revoke`, { csrf: csrf(page), kind: 'grant', id: jose.decodeJwt(root).grant_id });
  if (revoked.status !== 303) throw new Error(`account revoke: ${revoked.status}`);
} else {
  const revocation = await oauth.revocationRequest(as, orchestrator.client, orchestrator.auth, root, insecure);
  await oauth.processRevocationResponse(revocation);
}
const after = [];
for (const token of [root, first.access_token, second.access_token]) {
  after.push(await active(introspector, token));
}
console.log(JSON.stringify({
  issued_token_type: [first.issued_token_type, second.issued_token_type],
  scope: second.scope,
  typ: protectedHeader.typ,
  claims: {
    sub: payload.sub, aud: payload.aud, act: payload.act, client_id: payload.client_id,
    delegated_from: payload.delegated_from, grant_id: payload.grant_id ?? null,
  },
  orchestrator: orchestrator.client.client_id,
  root_jti: jose.decodeJwt(root).jti,
  account_lists: listed,
  active_before_revocation: before,
  active_after_revocation: after,
}));
