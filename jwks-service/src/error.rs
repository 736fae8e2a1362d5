//! The one error enum of jwks-service, and the one place it becomes an HTTP response
//! (`{error, message}`) or a gRPC status.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use shared::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    /// No key loaded yet (the store was unreachable at startup).
    #[error("signing keys are not loaded yet")]
    KeysNotLoaded,
    /// The store is down or holds a key we cannot open; the cause goes to the log.
    #[error("the key store is unavailable")]
    Store(#[from] StoreError),
}

impl ResponseError for JwksError {
    fn status_code(&self) -> StatusCode {
        StatusCode::SERVICE_UNAVAILABLE
    }

    /// Never an empty key set that verifiers would cache: an error nobody caches.
    fn error_response(&self) -> HttpResponse {
        if let Self::Store(error) = self {
            tracing::warn!(%error, "jwks request failed");
        }
        shared::envelope::agent_error(self.status_code(), "temporarily_unavailable", &self.to_string())
    }
}

impl From<JwksError> for tonic::Status {
    fn from(error: JwksError) -> Self {
        tracing::warn!(%error, "key admin request failed");
        tonic::Status::unavailable("key store unavailable, retry")
    }
}
