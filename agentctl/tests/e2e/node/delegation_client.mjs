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
// Each prints one JSON line of what it saw.
import * as oauth from 'oauth4webapi';
import * as jose from 'jose';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const [mode, issuer, resource, ...credentials] = process.argv.slice(2);
const insecure = { [oauth.allowInsecureRequests]: true };
const issuerUrl = new URL(issuer);
const as = await oauth.processDiscoveryResponse(
  issuerUrl,
  await oauth.discoveryRequest(issuerUrl, { ...insecure, algorithm: 'oauth2' }),
);
const party = (id, secret) => ({ client: { client_id: id }, auth: oauth.ClientSecretBasic(secret) });
const [orchestrator, researcher, summarizer] = [0, 2, 4]
  .filter((i) => credentials[i])
  .map((i) => party(credentials[i], credentials[i + 1]));

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

const root = await ownToken(orchestrator, { resource });
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

const first = await delegate(orchestrator, root, await ownToken(researcher), { resource, scope: 'reports:read' });
const second = await delegate(researcher, first.access_token, await ownToken(summarizer));
const jwks = jose.createRemoteJWKSet(new URL(as.jwks_uri));
const { payload, protectedHeader } = await jose.jwtVerify(second.access_token, jwks, {
  issuer,
  audience: resource,
  typ: 'at+jwt',
});
const before = await active(orchestrator, second.access_token);
const revocation = await oauth.revocationRequest(as, orchestrator.client, orchestrator.auth, root, insecure);
await oauth.processRevocationResponse(revocation);
const after = [];
for (const token of [root, first.access_token, second.access_token]) {
  after.push(await active(orchestrator, token));
}
console.log(JSON.stringify({
  issued_token_type: [first.issued_token_type, second.issued_token_type],
  scope: second.scope,
  typ: protectedHeader.typ,
  claims: { sub: payload.sub, aud: payload.aud, act: payload.act, client_id: payload.client_id, delegated_from: payload.delegated_from },
  root_jti: jose.decodeJwt(root).jti,
  active_before_revocation: before,
  active_after_revocation: after,
}));
