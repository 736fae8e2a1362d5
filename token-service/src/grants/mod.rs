//! The grants `/oauth2/token` serves, one service each behind [`Grants`]:
//! jwt-bearer (RFC 7523) with our identity assertions or an enterprise identity
//! provider's ID-JAG ([`id_jag`]), client_credentials, authorization_code,
//! refresh_token, and token-exchange (RFC 8693 delegation, [`token_exchange`]).
//! What they share has a service of its own:
//!
//! - [`request`]: the typed requests the edge parses, one per grant;
//! - [`scope`]: [`Resources`], scope narrowing and RFC 8707 resource indicators;
//! - [`proof`]: [`DpopProofs`], the key a DPoP proof binds a token to (RFC 9449 §5).

mod authorization_code;
mod client_credentials;
pub mod id_jag;
mod jwt_bearer;
pub mod proof;
mod refresh_token;
pub mod request;
pub mod scope;
pub mod token_exchange;

pub use authorization_code::AuthorizationCodeGrant;
pub use client_credentials::ClientCredentialsGrant;
pub use id_jag::IdJagGrant;
pub use jwt_bearer::JwtBearerGrant;
pub use proof::DpopProofs;
pub use refresh_token::RefreshTokenGrant;
pub use scope::Resources;
pub use token_exchange::TokenExchangeGrant;

use self::request::{ClientCredentialsRequest, GrantRequest, JwtBearerRequest, Presented};
use crate::access_token::Minted;
use crate::client_auth::ClientCredentials;
use crate::error::OAuthError;

/// Every grant this server issues tokens for.
#[derive(Debug)]
pub struct Grants {
    pub jwt_bearer: JwtBearerGrant,
    pub client_credentials: ClientCredentialsGrant,
    pub authorization_code: AuthorizationCodeGrant,
    pub id_jag: IdJagGrant,
    pub refresh_token: RefreshTokenGrant,
    pub token_exchange: TokenExchangeGrant,
}

impl Grants {
    pub async fn exchange(&self, request: GrantRequest, presented: Presented) -> Result<Minted, OAuthError> {
        match request {
            GrantRequest::JwtBearer(request) if self.jwt_bearer.is_workload_token(&request.assertion) => {
                self.workload_grant(request, presented).await
            }
            // Told apart by `iss` alone: a provider's ID-JAG never meets our keys, and
            // an assertion of ours never meets a provider's.
            GrantRequest::JwtBearer(request) => match self.id_jag.claimed_by(&request.assertion) {
                Some(provider) => self.id_jag.exchange(&provider, request, presented).await,
                None => self.jwt_bearer.exchange(request, presented).await,
            },
            GrantRequest::ClientCredentials(request) => self.client_credentials.exchange(request, presented).await,
            GrantRequest::AuthorizationCode(request) => self.authorization_code.exchange(request, presented).await,
            GrantRequest::RefreshToken(request) => self.refresh_token.exchange(request, presented).await,
            GrantRequest::TokenExchange(request) => self.token_exchange.exchange(request, presented).await,
        }
    }
}

impl Grants {
    /// MCP's workload identity federation extension (SEP-1933): the workload's token is
    /// the jwt-bearer grant itself, with no client credentials. It authenticates the
    /// client that stands for the workload, exactly as the same token would as a client
    /// assertion, and the token is that client's, as client_credentials would issue it;
    /// a token refused is the grant refused (`invalid_grant`).
    async fn workload_grant(&self, request: JwtBearerRequest, presented: Presented) -> Result<Minted, OAuthError> {
        if presented.credentials.is_some() {
            return Err(OAuthError::InvalidRequest(
                "a workload token is the grant or the client authentication, not both".into(),
            ));
        }
        let presented = Presented {
            credentials: Some(ClientCredentials::Assertion {
                client_id: presented.client_id.clone(),
                assertion: request.assertion,
                spiffe: false,
            }),
            ..presented
        };
        let request = ClientCredentialsRequest {
            scoping: request.scoping,
        };
        self.client_credentials
            .exchange(request, presented)
            .await
            .map_err(|refused| match refused {
                OAuthError::InvalidClient(why) | OAuthError::InvalidClientCredentials(why) => {
                    OAuthError::InvalidGrant(why.into())
                }
                other => other,
            })
    }
}

/// The one refusal of a client that must bind every token to a DPoP key and did not.
fn dpop_required() -> OAuthError {
    OAuthError::InvalidRequest("this client must send a DPoP proof with every token request".into())
}
