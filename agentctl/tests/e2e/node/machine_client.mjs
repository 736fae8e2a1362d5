// A machine client written only against oauth4webapi and jose, as a user of agentauth
// would write one: discovery, private_key_jwt client authentication, a DPoP-bound
// client_credentials token for one resource (RFC 8707), then the token verified with
// jose against the published JWKS, its cnf.jkt checked against the DPoP key.
//
//   node machine_client.mjs keygen DIR
//       writes DIR/public.jwks (to register) and DIR/private.jwk
//   node machine_client.mjs token ISSUER CLIENT_ID DIR RESOURCE SCOPE
//       prints one JSON line: what was issued and what was verified
import { readFileSync, writeFileSync } from 'node:fs';
import * as oauth from 'oauth4webapi';
import * as jose from 'jose';

const [mode, ...args] = process.argv.slice(2);

if (mode === 'keygen') {
  const [dir] = args;
  const { publicKey, privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const pub = { ...(await jose.exportJWK(publicKey)), kid: 'node-client', alg: 'ES256', use: 'sig' };
  const priv = { ...(await jose.exportJWK(privateKey)), kid: 'node-client', alg: 'ES256' };
  writeFileSync(`${dir}/public.jwks`, JSON.stringify({ keys: [pub] }));
  writeFileSync(`${dir}/private.jwk`, JSON.stringify(priv));
} else if (mode === 'token') {
  const [issuer, clientId, dir, resource, scope] = args;
  // The dev server speaks plain HTTP on loopback.
  const insecure = { [oauth.allowInsecureRequests]: true };
  const issuerUrl = new URL(issuer);
  const as = await oauth.processDiscoveryResponse(
    issuerUrl,
    await oauth.discoveryRequest(issuerUrl, { ...insecure, algorithm: 'oauth2' }),
  );
  for (const needed of ['private_key_jwt']) {
    if (!as.token_endpoint_auth_methods_supported?.includes(needed)) throw new Error(`discovery lacks ${needed}`);
  }
  if (!as.dpop_signing_alg_values_supported?.includes('ES256')) throw new Error('discovery lacks DPoP ES256');

  const priv = JSON.parse(readFileSync(`${dir}/private.jwk`, 'utf8'));
  const client = { client_id: clientId };
  const clientAuth = oauth.PrivateKeyJwt({ key: await jose.importJWK(priv, 'ES256'), kid: priv.kid });
  const dpopKeys = await oauth.generateKeyPair('ES256');
  const DPoP = oauth.DPoP(client, dpopKeys);
  const request = () =>
    oauth.clientCredentialsGrantRequest(as, client, clientAuth, { scope, resource }, { DPoP, ...insecure });
  let result;
  try {
    result = await oauth.processClientCredentialsResponse(as, client, await request());
  } catch (err) {
    // RFC 9449 §8: a server that wants nonces says so once; the handle learned it.
    if (!oauth.isDPoPNonceError(err)) throw err;
    result = await oauth.processClientCredentialsResponse(as, client, await request());
  }

  const jwks = jose.createRemoteJWKSet(new URL(as.jwks_uri));
  const { payload, protectedHeader } = await jose.jwtVerify(result.access_token, jwks, {
    issuer: as.issuer,
    audience: resource,
    typ: 'at+jwt',
  });
  const jkt = await jose.calculateJwkThumbprint(await jose.exportJWK(dpopKeys.publicKey));
  if (payload.cnf?.jkt !== jkt) throw new Error(`cnf.jkt ${payload.cnf?.jkt} is not the DPoP key's ${jkt}`);
  console.log(JSON.stringify({
    token_type: result.token_type,
    typ: protectedHeader.typ,
    sub: payload.sub,
    aud: payload.aud,
    scope: result.scope,
    cnf_matches_dpop_key: true,
  }));
} else {
  console.error('usage: machine_client.mjs keygen DIR | token ISSUER CLIENT_ID DIR RESOURCE SCOPE');
  process.exit(2);
}
