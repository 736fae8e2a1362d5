//! Token requests as the edge parsed them: one type per grant, each holding its own
//! parameters, and what every request may present beside them. Nothing in the domain
//! looks a parameter up by name.

use crate::client_auth::ClientCredentials;

/// The `DPoP` header(s) of a request, as sent (RFC 9449 §4.3 wants exactly one).
#[derive(Debug, Default)]
pub enum DpopHeader {
    #[default]
    Absent,
    One(String),
    /// More than one `DPoP` header.
    Several,
    /// A header that is not visible ASCII, so no compact JWS.
    Unreadable,
}

/// What a request presents beside its grant: client credentials, the `client_id` it
/// names, and a DPoP proof.
#[derive(Debug, Default)]
pub struct Presented {
    pub credentials: Option<ClientCredentials>,
    pub client_id: Option<String>,
    pub dpop: DpopHeader,
}

/// `scope` (RFC 6749 §3.3) and `resource` (RFC 8707), which every grant takes.
#[derive(Debug, Default)]
pub struct Scoping {
    pub scope: Option<String>,
    pub resources: Vec<String>,
}

/// RFC 7523 §2.1.
#[derive(Debug)]
pub struct JwtBearerRequest {
    pub assertion: String,
    pub scoping: Scoping,
}

/// RFC 6749 §4.4.2.
#[derive(Debug)]
pub struct ClientCredentialsRequest {
    pub scoping: Scoping,
}

/// RFC 6749 §4.1.3, with PKCE's `code_verifier` (RFC 7636 §4.5).
#[derive(Debug)]
pub struct AuthorizationCodeRequest {
    pub code: String,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub scoping: Scoping,
}

/// RFC 6749 §6.
#[derive(Debug)]
pub struct RefreshTokenRequest {
    pub refresh_token: String,
    pub scoping: Scoping,
}

/// RFC 8693 §2.1: a token to act for (`subject_token`), optionally the actor's own,
/// and where the new token goes (`resource`, `audience`).
#[derive(Debug)]
pub struct TokenExchangeRequest {
    pub subject_token: String,
    pub subject_token_type: String,
    pub actor_token: Option<String>,
    pub actor_token_type: Option<String>,
    pub requested_token_type: Option<String>,
    /// `audience` values (logical names of the target; here, protected resources).
    pub audiences: Vec<String>,
    pub scoping: Scoping,
}

/// A token request, by its `grant_type`.
#[derive(Debug)]
pub enum GrantRequest {
    JwtBearer(JwtBearerRequest),
    ClientCredentials(ClientCredentialsRequest),
    AuthorizationCode(AuthorizationCodeRequest),
    RefreshToken(RefreshTokenRequest),
    TokenExchange(TokenExchangeRequest),
}
