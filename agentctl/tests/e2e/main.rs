//! End-to-end tests of the built `agentctl` binary, driven the way an operator or an
//! agent would: `agentctl dev` as a child process on ephemeral ports, then `curl`,
//! `agentctl clients`, an HTTP client, and PyJWT as a stock resource-server library.
//! `curl`, `python3` and PyJWT (`pip install 'pyjwt[crypto]'`) must be installed: the
//! tests fail, never skip, without them.
//!
//! - `certs`: `agentctl certs init`, checked with the openssl command.
//! - `keys`: `agentctl keys list` and `rotate` against a running dev.
//! - `claim_browser`: the claim ceremony with headless Chromium (chromedriver) as the human.
//! - `authorize_browser`: sign-in, consent and the redirect back to an MCP-style client,
//!   then the account page's revoke, all in headless Chromium.
//! - `token_flow`: discovery → identity → token with curl; PyJWT verifies the token.
//! - `clients`: `agentctl clients create`, client_credentials and introspection.
//! - `stock_clients`: oauth4webapi + jose (npm) and authlib (PyPI) as machine clients:
//!   `private_key_jwt`, DPoP, `resource`, each with an EC or RSA key, an Ed25519 key and
//!   an RSA-PSS key registered without `alg`; and every `agentctl clients` command.
//! - `mcp_sdk`: the official MCP Python SDK's OAuth client: discovery from a 401, RFC
//!   7591 registration, authorization code + PKCE + `resource`, refresh.
//! - `id_jag`: MCP enterprise-managed authorization with the MCP TypeScript SDK's
//!   `CrossAppAccessProvider`: an ID-JAG from oidc-provider as the company IdP, traded
//!   at the token endpoint, the token verified with jose.
//! - `delegation`: RFC 8693 token exchange through two actors with oauth4webapi, the
//!   chain read by jose and ended by revoking its root (a machine client's token, or a
//!   human's grant from the code flow); `clients --may-act`.
//! - `dev_args`: `agentctl dev` refusing addresses it cannot use, and its SIGTERM drain.
//! - `helpers`: the `agentctl dev` child and bounded command runs.

mod authorize_browser;
mod browser;
mod certs;
mod claim_browser;
mod clients;
mod delegation;
mod dev_args;
mod helpers;
mod id_jag;
mod keys;
mod mcp_sdk;
mod outbox;
mod stock_clients;
mod token_flow;
mod upstream;
mod workload;
