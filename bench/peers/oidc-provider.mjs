// panva's oidc-provider as bench/bench.py's comparison for client_credentials and JWKS:
// in-memory, one confidential client (client_secret_basic), one P-256 signing key.
// Prints ["client_id","client_secret"] on its first line once listening.
//
//   node bench/peers/oidc-provider.mjs PORT
import { generateKeyPairSync, randomBytes } from "node:crypto";
import Provider from "oidc-provider";

const port = Number(process.argv[2] ?? 3000);
const clientId = "bench";
const clientSecret = randomBytes(24).toString("base64url");
const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const key = { ...privateKey.export({ format: "jwk" }), kid: "bench", alg: "ES256", use: "sig" };

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ["client_credentials"],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: "client_secret_basic",
      scope: "reports:read",
      id_token_signed_response_alg: "ES256",
    },
  ],
  scopes: ["reports:read"],
  features: { clientCredentials: { enabled: true }, devInteractions: { enabled: false } },
  jwks: { keys: [key] },
});
provider.listen(port, "127.0.0.1", () => {
  console.log(JSON.stringify([clientId, clientSecret]));
});
