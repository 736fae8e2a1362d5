//! The one error enum of identity-service, and the one place it becomes an HTTP response
//! (`{error, message}`, DESIGN §6) or a gRPC status.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use shared::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("anonymous registration is not enabled on this server")]
    AnonymousNotEnabled,
    #[error("signing keys are not available yet")]
    KeysUnavailable,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl IdentityError {
    fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::AnonymousNotEnabled => "anonymous_not_enabled",
            Self::KeysUnavailable | Self::Store(StoreError::Unavailable(_)) => "temporarily_unavailable",
            Self::Store(StoreError::Corrupt { .. }) | Self::Internal(_) => "server_error",
        }
    }
}

impl ResponseError for IdentityError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Self::AnonymousNotEnabled => StatusCode::FORBIDDEN,
            Self::KeysUnavailable | Self::Store(StoreError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Store(StoreError::Corrupt { .. }) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        // A 5xx body reveals nothing; the cause goes to the log.
        let message = if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
            match status {
                StatusCode::SERVICE_UNAVAILABLE => "the service is temporarily unavailable, retry later".to_owned(),
                _ => "internal server error".to_owned(),
            }
        } else {
            self.to_string()
        };
        shared::envelope::agent_error(status, self.code(), &message)
    }
}

impl From<IdentityError> for tonic::Status {
    fn from(error: IdentityError) -> Self {
        match error {
            IdentityError::InvalidRequest(message) => tonic::Status::invalid_argument(message),
            IdentityError::AnonymousNotEnabled => tonic::Status::failed_precondition("anonymous not enabled"),
            IdentityError::KeysUnavailable | IdentityError::Store(StoreError::Unavailable(_)) => {
                tracing::warn!(%error, "validation unavailable");
                tonic::Status::unavailable("identity service temporarily unavailable")
            }
            other => {
                tracing::error!(error = %other, "validation failed");
                tonic::Status::internal("internal error")
            }
        }
    }
}
