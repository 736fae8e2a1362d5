//! [`OAuthError`]: every way a `/oauth2/*` request fails, and the one place it becomes an
//! RFC 6749 §5.2 response. Handlers return `Result<_, OAuthError>` and never build an
//! error body themselves.

use actix_web::http::StatusCode;
use actix_web::http::header::WWW_AUTHENTICATE;
use actix_web::{HttpResponse, ResponseError};
use protocol::jose::assertion::ExchangeRefusal;
use shared::store::StoreError;

/// RFC 9449 §8.1: where a server nonce is sent.
pub const DPOP_NONCE: actix_web::http::header::HeaderName =
    actix_web::http::header::HeaderName::from_static("dpop-nonce");

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    InvalidClient(&'static str),
    /// Client authentication presented outside the `Authorization` header failed
    /// (`client_secret_post`, `private_key_jwt`, a certificate). RFC 6749 §5.2 reserves
    /// 401 and its challenge for the header: a `Basic` challenge here names a scheme the
    /// client did not use, and oauth4webapi raises it instead of showing the error.
    #[error("{0}")]
    InvalidClientCredentials(&'static str),
    #[error("{0}")]
    InvalidGrant(String),
    #[error("this grant_type is not supported; see grant_types_supported in the server metadata")]
    UnsupportedGrantType,
    /// The client authenticated, but may not do this (RFC 7009 §2.1: revoke a token
    /// issued to another client).
    #[error("{0}")]
    UnauthorizedClient(&'static str),
    #[error("{0}")]
    InvalidScope(String),
    #[error("{0}")]
    InsufficientUserAuthentication(String),
    /// RFC 8707 §2: a `resource` this server issues no tokens for.
    #[error("{0}")]
    InvalidTarget(&'static str),
    /// RFC 9449 §7.1: the `DPoP` proof is missing a piece, wrong or replayed.
    #[error("{0}")]
    InvalidDpopProof(String),
    /// RFC 9449 §8: retry with the nonce in the response's `DPoP-Nonce` header.
    #[error("the DPoP proof must carry the server's current nonce")]
    UseDpopNonce { nonce: String },
    /// The client authenticated but may not use this endpoint (introspection is for
    /// resource servers only).
    #[error("{0}")]
    InsufficientScope(&'static str),
    /// RFC 7591 §3.2.2: a redirect URI that may not be registered.
    #[error("{0}")]
    InvalidRedirectUri(String),
    /// RFC 7591 §3.2.2: any other client metadata that may not be registered.
    #[error("{0}")]
    InvalidClientMetadata(String),
    /// RFC 6750 §3.1: the initial access token of client registration is missing or wrong.
    #[error("{0}")]
    InvalidToken(&'static str),
    /// Too many requests from this client address; retry after the interval.
    #[error("too many requests: retry later")]
    RateLimited { retry_after: std::time::Duration },
    #[error("{what} is temporarily unavailable")]
    TemporarilyUnavailable { what: &'static str, cause: String },
    #[error("internal error: {0}")]
    ServerError(String),
}

impl OAuthError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidClient(_) | Self::InvalidClientCredentials(_) => "invalid_client",
            Self::InvalidGrant(_) => "invalid_grant",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnauthorizedClient(_) => "unauthorized_client",
            Self::InvalidScope(_) => "invalid_scope",
            Self::InsufficientUserAuthentication(_) => "insufficient_user_authentication",
            Self::InvalidTarget(_) => "invalid_target",
            Self::InvalidDpopProof(_) => "invalid_dpop_proof",
            Self::UseDpopNonce { .. } => "use_dpop_nonce",
            Self::InsufficientScope(_) => "insufficient_scope",
            Self::InvalidRedirectUri(_) => "invalid_redirect_uri",
            Self::InvalidClientMetadata(_) => "invalid_client_metadata",
            Self::InvalidToken(_) => "invalid_token",
            Self::RateLimited { .. } => "rate_limited",
            Self::TemporarilyUnavailable { .. } => "temporarily_unavailable",
            Self::ServerError(_) => "server_error",
        }
    }
}

/// The one mapping of an assertion exchange's refusal to RFC 6749 §5.2: a registration
/// that needs its human is `insufficient_user_authentication` (RFC 9470), everything
/// else `invalid_grant`.
impl From<ExchangeRefusal> for OAuthError {
    fn from(refusal: ExchangeRefusal) -> Self {
        match refusal {
            ExchangeRefusal::UserAuthenticationRequired => Self::InsufficientUserAuthentication(refusal.to_string()),
            refusal => Self::InvalidGrant(refusal.to_string()),
        }
    }
}

impl From<StoreError> for OAuthError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(cause) => Self::TemporarilyUnavailable {
                what: "the store",
                cause,
            },
            corrupt @ StoreError::Corrupt { .. } => Self::ServerError(corrupt.to_string()),
        }
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidClient(_) | Self::InsufficientUserAuthentication(_) | Self::InvalidToken(_) => {
                StatusCode::UNAUTHORIZED
            }
            Self::InsufficientScope(_) => StatusCode::FORBIDDEN,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::TemporarilyUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::ServerError(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let description = match self {
            Self::TemporarilyUnavailable { cause, .. } => {
                tracing::warn!(error = %self, %cause, "dependency unavailable");
                self.to_string()
            }
            // A 5xx body reveals nothing; the cause goes to the log.
            Self::ServerError(cause) => {
                tracing::error!(%cause, "request failed");
                "internal server error".to_owned()
            }
            _ => self.to_string(),
        };
        let mut response = shared::envelope::oauth_error(self.status_code(), self.code(), Some(&description));
        let challenge = match self {
            // RFC 6749 §5.2: 401 for a failed client authentication, with a challenge.
            Self::InvalidClient(_) => Some("Basic realm=\"agentauth\", charset=\"UTF-8\""),
            Self::InsufficientUserAuthentication(_) => Some("Bearer error=\"insufficient_user_authentication\""),
            Self::InvalidToken(_) => Some("Bearer error=\"invalid_token\""),
            _ => None,
        };
        if let Some(challenge) = challenge {
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                actix_web::http::header::HeaderValue::from_static(challenge),
            );
        }
        if let Self::RateLimited { retry_after } = self
            && let Ok(value) = actix_web::http::header::HeaderValue::from_str(&retry_after.as_secs().max(1).to_string())
        {
            response
                .headers_mut()
                .insert(actix_web::http::header::RETRY_AFTER, value);
        }
        if let Self::UseDpopNonce { nonce } = self
            && let Ok(value) = actix_web::http::header::HeaderValue::from_str(nonce)
        {
            response.headers_mut().insert(DPOP_NONCE, value);
        }
        response
    }
}

/// Errors of the operator API (`ClientAdmin`, on the internal port), turned into a gRPC
/// status here and nowhere else.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    /// The change contradicts the client's state (its last secret, a wrong method).
    /// Invalid, NotFound and Conflict are also what `clients::lifecycle` refuses with:
    /// each is the operator's to fix.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AdminError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }
}

impl From<AdminError> for tonic::Status {
    fn from(error: AdminError) -> Self {
        match error {
            AdminError::Invalid(message) => tonic::Status::invalid_argument(message),
            AdminError::NotFound(message) => tonic::Status::not_found(message),
            AdminError::Conflict(message) => tonic::Status::failed_precondition(message),
            AdminError::Store(error) => {
                tracing::error!(%error, "client store failed");
                tonic::Status::unavailable("the client store is unavailable, retry")
            }
        }
    }
}
