// A machine client written only against oauth4webapi and jose, as a user of agentauth
// would write one: discovery, private_key_jwt client authentication, a DPoP-bound
// client_credentials token for one resource (RFC 8707), then the token verified with
// jose against the published JWKS, its cnf.jkt checked against the DPoP key.
//
//   node machine_client.mjs keygen DIR [VARIANT]
//       writes DIR/public.jwks (to register) and DIR/private.jwk
//   node machine_client.mjs token ISSUER CLIENT_ID DIR RESOURCE SCOPE [VARIANT]
//       signs the client assertion with the key keygen wrote, makes a fresh DPoP key of
//       VARIANT, and prints one JSON line: what was sent, what was issued and verified
//
// VARIANT (default ES256) is the kind of key, made the way these libraries make it:
//   ES256        P-256; the registered JWK says alg ES256
//   Ed25519      generateKeyPair('Ed25519'); the libraries sign with alg "Ed25519"
//                (RFC 9864), not the older "EdDSA"; the registered JWK says alg Ed25519
//   PS256-noalg  RSA-PSS, 2048 bits, signing PS256; the registered JWK is exportJWK's
//                output as is, which has no alg (RFC 7517 §4.4 makes it optional)
import { readFileSync, writeFileSync } from 'node:fs';
import * as oauth from 'oauth4webapi';
import * as jose from 'jose';

const VARIANTS = {
  ES256: { alg: 'ES256', registeredAlg: 'ES256' },
  Ed25519: { alg: 'Ed25519', registeredAlg: 'Ed25519' },
  'PS256-noalg': { alg: 'PS256', registeredAlg: undefined },
};
const USAGE =
  'usage: machine_client.mjs keygen DIR [VARIANT] | token ISSUER CLIENT_ID DIR RESOURCE SCOPE [VARIANT]\n' +
  `VARIANT is one of ${Object.keys(VARIANTS).join(', ')}`;

function variant(name = 'ES256') {
  if (!Object.hasOwn(VARIANTS, name)) {
    console.error(USAGE);
    process.exit(2);
  }
  return VARIANTS[name];
}

/** The protected header and the payload of a compact JWS, unverified: what was sent. */
function decoded(jws) {
  return { header: jose.decodeProtectedHeader(jws), payload: jose.decodeJwt(jws) };
}

/** An error as the test log should show it, including the response body a challenge hides. */
async function explain(err) {
  const shown = { name: err?.name, message: err?.message, code: err?.code };
  if (err instanceof oauth.ResponseBodyError) {
    Object.assign(shown, { status: err.status, error: err.error, error_description: err.error_description });
  } else if (err instanceof oauth.WWWAuthenticateChallengeError) {
    // oauth4webapi raises this for any 4xx with WWW-Authenticate and leaves the body unread.
    Object.assign(shown, {
      status: err.status,
      www_authenticate: err.response.headers.get('www-authenticate'),
      body: await err.response.text().catch(() => undefined),
    });
  } else if (err?.cause !== undefined) {
    shown.cause = String(err.cause?.message ?? JSON.stringify(err.cause));
  }
  return JSON.stringify(shown);
}

const [mode, ...args] = process.argv.slice(2);

try {
  if (mode === 'keygen') {
    const [dir, name] = args;
    const { alg, registeredAlg } = variant(name);
    const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true });
    const pub = { ...(await jose.exportJWK(publicKey)), kid: 'node-client', use: 'sig' };
    if (registeredAlg !== undefined) pub.alg = registeredAlg;
    // The private JWK stays here; its alg only tells `token` how to import it.
    const priv = { ...(await jose.exportJWK(privateKey)), kid: 'node-client', alg };
    writeFileSync(`${dir}/public.jwks`, JSON.stringify({ keys: [pub] }));
    writeFileSync(`${dir}/private.jwk`, JSON.stringify(priv));
  } else if (mode === 'token') {
    const [issuer, clientId, dir, resource, scope, name] = args;
    const dpopAlg = variant(name).alg;
    const priv = JSON.parse(readFileSync(`${dir}/private.jwk`, 'utf8'));
    // The dev server speaks plain HTTP on loopback.
    const insecure = { [oauth.allowInsecureRequests]: true };
    const issuerUrl = new URL(issuer);
    const as = await oauth.processDiscoveryResponse(
      issuerUrl,
      await oauth.discoveryRequest(issuerUrl, { ...insecure, algorithm: 'oauth2' }),
    );
    if (!as.token_endpoint_auth_methods_supported?.includes('private_key_jwt')) {
      throw new Error('discovery lacks private_key_jwt');
    }
    // A client picks its algorithms from what discovery advertises.
    if (!as.token_endpoint_auth_signing_alg_values_supported?.includes(priv.alg)) {
      throw new Error(
        `discovery lacks ${priv.alg} in token_endpoint_auth_signing_alg_values_supported: ` +
          JSON.stringify(as.token_endpoint_auth_signing_alg_values_supported),
      );
    }
    if (!as.dpop_signing_alg_values_supported?.includes(dpopAlg)) {
      throw new Error(
        `discovery lacks ${dpopAlg} in dpop_signing_alg_values_supported: ` +
          JSON.stringify(as.dpop_signing_alg_values_supported),
      );
    }

    const client = { client_id: clientId };
    const clientAuth = oauth.PrivateKeyJwt({ key: await jose.importJWK(priv, priv.alg), kid: priv.kid });
    const dpopKeys = await oauth.generateKeyPair(dpopAlg);
    const DPoP = oauth.DPoP(client, dpopKeys);
    // Records what the libraries put on the wire, so the test can tell which algorithm
    // names were really sent (oauth4webapi picks them from the key, not from us).
    const sent = [];
    const recording = (url, init) => {
      sent.push({
        client_assertion: new URLSearchParams(init.body.toString()).get('client_assertion'),
        dpop: new Headers(init.headers).get('dpop'),
      });
      return fetch(url, init);
    };
    const request = () =>
      oauth.clientCredentialsGrantRequest(
        as,
        client,
        clientAuth,
        { scope, resource },
        { DPoP, ...insecure, [oauth.customFetch]: recording },
      );
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
    const last = sent.at(-1);
    const assertion = decoded(last.client_assertion);
    const proof = decoded(last.dpop);
    console.log(JSON.stringify({
      token_type: result.token_type,
      typ: protectedHeader.typ,
      sub: payload.sub,
      aud: payload.aud,
      scope: result.scope,
      cnf_matches_dpop_key: true,
      client_assertion_alg: assertion.header.alg,
      dpop_alg: proof.header.alg,
      dpop_jwk_members: Object.keys(proof.header.jwk).sort(),
    }));
  } else {
    console.error(USAGE);
    process.exit(2);
  }
} catch (err) {
  console.error(`machine_client.mjs ${mode}: ${await explain(err)}`);
  process.exit(1);
}
