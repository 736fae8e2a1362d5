// panva's oidc-provider as a company's identity provider for the end-to-end tests:
// in-memory, its own P-256 key, one confidential client (client_secret_basic) whose
// redirect URI is agentauth's sign-in callback, and development interactions (a login
// form that takes any name, then a consent form). A person named NAME gets the address
// NAME@corp.example, verified. Prints {"issuer", "client_id"} on its first line once
// listening.
//
//   node company_idp.mjs PORT REDIRECT_URI CLIENT_SECRET
import { generateKeyPairSync } from "node:crypto";
import Provider from "oidc-provider";

const port = Number(process.argv[2]);
const redirectUri = process.argv[3];
const issuer = `http://127.0.0.1:${port}`;
const clientId = "agentauth";
const clientSecret = process.argv[4];
const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const key = { ...privateKey.export({ format: "jwk" }), kid: "corp-1", alg: "ES256", use: "sig" };

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
provider.listen(port, "127.0.0.1", () => {
  console.log(JSON.stringify({ issuer, client_id: clientId }));
});
