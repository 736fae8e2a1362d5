// panva's oidc-provider as a company's identity provider for the end-to-end tests:
// in-memory, its own P-256 key, one confidential client (client_secret_basic) whose
// redirect URI is agentauth's sign-in callback, and development interactions (a login
// form that takes any name, then a consent form). A person named NAME gets the address
// NAME@corp.example, verified. Prints {"issuer", "client_id"} on its first line once
// listening.
//
// With MCP_CLIENT_SECRET and RESOURCE_CLIENT_ID it is also the enterprise IdP of MCP
// enterprise-managed authorization (draft-ietf-oauth-identity-assertion-authz-grant
// -04): a second confidential client, `mcp-client` (client_secret_post, redirect URI
// http://127.0.0.1:33421/callback), may exchange an ID token this provider issued to
// it (RFC 8693) for an ID-JAG shaped as draft -04 §4.3 shows it, naming
// RESOURCE_CLIENT_ID, that client's registration at the audience's authorization
// server, as an IdP maps its apps to their authorization servers' client ids.
//
//   node company_idp.mjs PORT REDIRECT_URI CLIENT_SECRET [MCP_CLIENT_SECRET RESOURCE_CLIENT_ID]
import { generateKeyPairSync, randomUUID } from "node:crypto";
import * as jose from "jose";
import Provider, { errors } from "oidc-provider";

const port = Number(process.argv[2]);
const redirectUri = process.argv[3];
const issuer = `http://127.0.0.1:${port}`;
const clientId = "agentauth";
const clientSecret = process.argv[4];
const [mcpClientSecret, resourceClientId] = process.argv.slice(5);
const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const key = { ...privateKey.export({ format: "jwk" }), kid: "corp-1", alg: "ES256", use: "sig" };
const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token";
const ID_JAG = "urn:ietf:params:oauth:token-type:id-jag";
const mcpClient = {
  client_id: "mcp-client",
  client_secret: mcpClientSecret,
  grant_types: ["authorization_code", TOKEN_EXCHANGE],
  response_types: ["code"],
  redirect_uris: ["http://127.0.0.1:33421/callback"],
  token_endpoint_auth_method: "client_secret_post",
  id_token_signed_response_alg: "ES256",
};

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ["authorization_code"],
      response_types: ["code"],
      redirect_uris: [redirectUri],
      // agentauth's back-channel logout endpoint, beside its sign-in callback.
      backchannel_logout_uri: redirectUri.replace("/agent/sign-in/callback", "/agent/sign-in/backchannel-logout/corp"),
      token_endpoint_auth_method: "client_secret_basic",
      id_token_signed_response_alg: "ES256",
    },
    ...(resourceClientId ? [mcpClient] : []),
  ],
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: `${id}@corp.example`, email_verified: true, name: id };
      },
    };
  },
  features: { devInteractions: { enabled: true }, backchannelLogout: { enabled: true } },
  pkce: { required: () => true },
  jwks: { keys: [key] },
  // The relying party of this test runs on loopback, which oidc-provider's SSRF
  // protection (a dispatcher refusing special-use addresses) would refuse for the
  // back-channel logout; this provider's only outgoing calls are to it.
  fetch: (url, options) => fetch(url, { ...options, dispatcher: undefined }),
});
// What became of each back-channel logout, on stderr for the test's log.
provider.on("backchannel.error", (ctx, error, client) => console.error(`backchannel.error ${client.clientId}: ${error}`));
provider.on("backchannel.success", (ctx, client) => console.error(`backchannel.success ${client.clientId}`));

/** draft -04 §4: the ID token this provider gave the requesting client, for an ID-JAG. */
async function issueIdJag(ctx) {
  const { client, params } = ctx.oidc;
  if (client.clientId !== mcpClient.client_id) throw new errors.UnauthorizedClient("only mcp-client may ask for ID-JAGs");
  if (params.requested_token_type !== ID_JAG) throw new errors.InvalidRequest("requested_token_type must be the ID-JAG type");
  if (params.subject_token_type !== ID_TOKEN) throw new errors.InvalidRequest("subject_token_type must be an ID token");
  if (!params.audience || !params.resource) throw new errors.InvalidRequest("audience and resource are required");
  let idToken;
  try {
    ({ payload: idToken } = await jose.jwtVerify(params.subject_token, publicKey, { issuer, audience: client.clientId }));
  } catch (error) {
    throw new errors.InvalidGrant(`subject_token: ${error.code ?? error}`);
  }
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    jti: randomUUID(),
    iss: issuer,
    sub: idToken.sub,
    aud: params.audience,
    client_id: resourceClientId,
    exp: now + 300,
    iat: now,
    resource: params.resource,
    ...(params.scope ? { scope: params.scope } : {}),
    ...(idToken.auth_time ? { auth_time: idToken.auth_time } : {}),
    amr: ["pwd"],
  };
  const jag = await new jose.SignJWT(claims)
    .setProtectedHeader({ alg: "ES256", kid: key.kid, typ: "oauth-id-jag+jwt" })
    .sign(privateKey);
  console.error(`id-jag issued for ${idToken.sub} to ${resourceClientId} at ${params.audience}`);
  ctx.body = { access_token: jag, issued_token_type: ID_JAG, token_type: "N_A", expires_in: 300, ...(params.scope ? { scope: params.scope } : {}) };
}
if (resourceClientId) {
  provider.registerGrantType(TOKEN_EXCHANGE, issueIdJag, ["subject_token", "subject_token_type", "requested_token_type", "audience", "resource", "scope"]);
}
provider.listen(port, "127.0.0.1", () => {
  console.log(JSON.stringify({ issuer, client_id: clientId }));
});
