// A protected MCP endpoint as an MCP server would run one, for the end-to-end scripts:
// RFC 9728 metadata at /.well-known/oauth-protected-resource/mcp naming ISSUER, a 401
// with `resource_metadata` and `scope` to a request without a valid token, and tokens
// verified with jose against ISSUER's JWKS with the resource as audience. A verified
// request is answered with the token's sub, scope and client_id.
import http from 'node:http';
import * as jose from 'jose';

/** Listens on 127.0.0.1:PORT; resolves to { resource, close }. */
export async function protectedEndpoint({ issuer, port, scopes }) {
  const resource = `http://127.0.0.1:${port}/mcp`;
  const metadata = `http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp`;
  const jwks = jose.createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`));
  const server = http.createServer(async (req, res) => {
    const reply = (status, body, headers = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/oauth-protected-resource/mcp') {
      return reply(200, {
        resource,
        authorization_servers: [issuer],
        scopes_supported: scopes,
        bearer_methods_supported: ['header'],
      });
    }
    const challenge = { 'www-authenticate': `Bearer resource_metadata="${metadata}", scope="${scopes.join(' ')}"` };
    const header = req.headers.authorization ?? '';
    if (!header.startsWith('Bearer ')) return reply(401, { error: 'unauthorized' }, challenge);
    try {
      const { payload } = await jose.jwtVerify(header.slice(7), jwks, { issuer, audience: resource });
      return reply(200, { sub: payload.sub, scope: payload.scope, client_id: payload.client_id });
    } catch (error) {
      return reply(401, { error: String(error) }, challenge);
    }
  });
  await new Promise((resolve) => server.listen(Number(port), '127.0.0.1', resolve));
  return { resource, close: () => server.close() };
}
