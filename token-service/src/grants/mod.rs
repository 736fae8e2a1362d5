//! The grants `/oauth2/token` serves, one service each behind [`Grants`]:
//! jwt-bearer (RFC 7523), client_credentials, authorization_code and refresh_token.
//! What they share has a service of its own:
//!
//! - [`request`]: the typed requests the edge parses, one per grant;
//! - [`scope`]: [`Resources`], scope narrowing and RFC 8707 resource indicators;
//! - [`proof`]: [`DpopProofs`], the key a DPoP proof binds a token to (RFC 9449 §5).

mod authorization_code;
mod client_credentials;
mod jwt_bearer;
pub mod proof;
mod refresh_token;
pub mod request;
pub mod scope;

pub use authorization_code::AuthorizationCodeGrant;
pub use client_credentials::ClientCredentialsGrant;
pub use jwt_bearer::JwtBearerGrant;
pub use proof::DpopProofs;
pub use refresh_token::RefreshTokenGrant;
pub use scope::Resources;

use self::request::{GrantRequest, Presented};
use crate::access_token::Minted;
use crate::error::OAuthError;

/// Every grant this server issues tokens for.
#[derive(Debug)]
pub struct Grants {
    pub jwt_bearer: JwtBearerGrant,
    pub client_credentials: ClientCredentialsGrant,
    pub authorization_code: AuthorizationCodeGrant,
    pub refresh_token: RefreshTokenGrant,
}

impl Grants {
    pub async fn exchange(&self, request: GrantRequest, presented: Presented) -> Result<Minted, OAuthError> {
        match request {
            GrantRequest::JwtBearer(request) => self.jwt_bearer.exchange(request, presented).await,
            GrantRequest::ClientCredentials(request) => self.client_credentials.exchange(request, presented).await,
            GrantRequest::AuthorizationCode(request) => self.authorization_code.exchange(request, presented).await,
            GrantRequest::RefreshToken(request) => self.refresh_token.exchange(request, presented).await,
        }
    }
}

/// The one refusal of a client that must bind every token to a DPoP key and did not.
fn dpop_required() -> OAuthError {
    OAuthError::InvalidRequest("this client must send a DPoP proof with every token request".into())
}
