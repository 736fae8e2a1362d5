//! [`SetError`]: how the security event receivers refuse, in RFC 8935 §2.3's shape
//! `{err, description}`, mapped once.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use super::{IdentityError, ProviderError};

/// Errors of the event receiver, in RFC 8935 §2.3's shape `{err, description}`.
#[derive(Debug, thiserror::Error)]
pub enum SetError {
    #[error("{0}")]
    InvalidRequest(String),
    /// RFC 9449 §7.1: the registration's `DPoP` proof is missing a piece, wrong or replayed.
    #[error("{0}")]
    InvalidDpopProof(String),
    #[error("{0}")]
    InvalidKey(String),
    #[error("{0}")]
    InvalidIssuer(String),
    #[error("{0}")]
    InvalidAudience(String),
    #[error("{0}")]
    AuthenticationFailed(String),
    #[error("cannot verify or apply the event now: {0}")]
    Unavailable(String),
}

impl SetError {
    pub fn invalid_request(message: &str) -> Self {
        Self::InvalidRequest(message.to_owned())
    }
}

impl From<IdentityError> for SetError {
    fn from(error: IdentityError) -> Self {
        match error {
            IdentityError::InvalidRequest(message) => Self::InvalidRequest(message),
            IdentityError::Provider(error) => Self::from(error),
            other => Self::Unavailable(other.to_string()),
        }
    }
}

/// A provider's refusal on the event receiver (RFC 8935 §2.3 codes).
impl From<ProviderError> for SetError {
    fn from(error: ProviderError) -> Self {
        let message = error.to_string();
        match error {
            ProviderError::Malformed(_)
            | ProviderError::WrongType
            | ProviderError::Expired
            | ProviderError::UnsupportedCritical
            | ProviderError::LifetimeTooLong
            | ProviderError::MissingClaim(_)
            | ProviderError::InvalidEvent(_)
            | ProviderError::Replayed
            | ProviderError::MissingVerifiedEmail => Self::InvalidRequest(message),
            ProviderError::UntrustedIssuer(_) | ProviderError::ForeignSubject => Self::InvalidIssuer(message),
            ProviderError::UnknownKey(_) => Self::InvalidKey(message),
            ProviderError::InvalidSignature => Self::AuthenticationFailed(message),
            ProviderError::InvalidAudience => Self::InvalidAudience(message),
            ProviderError::KeysUnavailable(cause) => Self::Unavailable(cause),
        }
    }
}

impl ResponseError for SetError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let err = match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidDpopProof(_) => "invalid_dpop_proof",
            Self::InvalidKey(_) => "invalid_key",
            Self::InvalidIssuer(_) => "invalid_issuer",
            Self::InvalidAudience(_) => "invalid_audience",
            Self::AuthenticationFailed(_) => "authentication_failed",
            // Transmitters retry on 5xx (RFC 8935 §2.4); the cause stays in our log.
            Self::Unavailable(cause) => {
                tracing::warn!(%cause, "security event not applied");
                return shared::envelope::builder_for(self.status_code()).finish();
            }
        };
        shared::envelope::builder_for(self.status_code())
            .json(serde_json::json!({ "err": err, "description": self.to_string() }))
    }
}
