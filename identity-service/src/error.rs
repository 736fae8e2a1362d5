//! The one error enum of identity-service, and the one place it becomes an HTTP response
//! (`{error, message}`, DESIGN §6) or a gRPC status.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use shared::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("{0}")]
    InvalidRequest(String),
    /// RFC 9449 §7.1: the registration's `DPoP` proof is missing a piece, wrong or replayed.
    #[error("{0}")]
    InvalidDpopProof(String),
    /// A registration path switched off in settings; carries its error code.
    #[error("this registration path is not enabled on this server")]
    PathNotEnabled(&'static str),
    #[error("the email address is not one mail can be delivered to")]
    InvalidEmail,
    #[error("the claim token is not valid")]
    InvalidClaimToken,
    #[error("this claim can only be confirmed by the human the provider named; the link goes to no other address")]
    ClaimEmailMismatch,
    #[error("the provider revoked this delegation")]
    DelegationRevoked,
    #[error("the registration is already claimed, or another claim is in progress")]
    ClaimedOrInFlight,
    #[error("the claim window of this registration has closed")]
    ClaimExpired,
    #[error("the registration has already been claimed")]
    PreviouslyClaimed,
    #[error("no code has been generated yet: the human must open the link and press the button")]
    OtpNotGenerated,
    #[error("the code has expired or was entered wrong too often: the human must generate a new one")]
    OtpExpired,
    #[error("the code is not correct")]
    OtpInvalid,
    #[error("this claim link is not valid")]
    InvalidClaimLink,
    #[error("this claim link has expired; ask the agent to start the claim again")]
    ClaimLinkExpired,
    #[error("too many requests; retry after {} s", retry_after.as_secs().max(1))]
    RateLimited { retry_after: std::time::Duration },
    #[error("mail could not be sent: {0}")]
    MailUnavailable(String),
    /// A provider's assertion refused; carries its error code.
    #[error("{1}")]
    AssertionRejected(&'static str, String),
    #[error("the human must confirm this agent through the claim ceremony")]
    InteractionRequired(Box<ClaimBlock>),
    #[error("a provider's signing keys cannot be fetched: {0}")]
    ProviderUnavailable(String),
    #[error("signing keys are not available yet")]
    KeysUnavailable,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl IdentityError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidDpopProof(_) => "invalid_dpop_proof",
            Self::PathNotEnabled(code) => code,
            Self::InvalidEmail => "invalid_email",
            Self::InvalidClaimToken => "invalid_claim_token",
            Self::ClaimEmailMismatch => "email_mismatch",
            Self::DelegationRevoked => "delegation_revoked",
            Self::ClaimedOrInFlight => "claimed_or_in_flight",
            Self::ClaimExpired => "claim_expired",
            Self::PreviouslyClaimed => "previously_claimed",
            Self::OtpNotGenerated => "otp_not_generated",
            Self::OtpExpired => "otp_expired",
            Self::OtpInvalid => "otp_invalid",
            Self::InvalidClaimLink => "invalid_claim_link",
            Self::ClaimLinkExpired => "claim_link_expired",
            Self::RateLimited { .. } => "rate_limited",
            Self::AssertionRejected(code, _) => code,
            Self::InteractionRequired(_) => "interaction_required",
            Self::KeysUnavailable
            | Self::MailUnavailable(_)
            | Self::ProviderUnavailable(_)
            | Self::Store(StoreError::Unavailable(_)) => "temporarily_unavailable",
            Self::Store(StoreError::Corrupt { .. }) | Self::Internal(_) => "server_error",
        }
    }
}

impl ResponseError for IdentityError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidRequest(_)
            | Self::InvalidDpopProof(_)
            | Self::InvalidEmail
            | Self::OtpNotGenerated
            | Self::InvalidClaimLink => StatusCode::BAD_REQUEST,
            Self::PathNotEnabled(_) | Self::ClaimEmailMismatch | Self::DelegationRevoked => StatusCode::FORBIDDEN,
            Self::InvalidClaimToken | Self::OtpInvalid | Self::AssertionRejected(..) | Self::InteractionRequired(_) => {
                StatusCode::UNAUTHORIZED
            }
            Self::ClaimedOrInFlight | Self::PreviouslyClaimed => StatusCode::CONFLICT,
            Self::ClaimExpired | Self::OtpExpired | Self::ClaimLinkExpired => StatusCode::GONE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::KeysUnavailable
            | Self::MailUnavailable(_)
            | Self::ProviderUnavailable(_)
            | Self::Store(StoreError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
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
        let mut response = match self {
            Self::InteractionRequired(claim) => shared::envelope::builder_for(status)
                .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
                .json(serde_json::json!({
                    "error": self.code(),
                    "message": message,
                    "claim": claim.to_json(),
                })),
            _ => shared::envelope::agent_error(status, self.code(), &message),
        };
        self.set_retry_after(&mut response);
        response
    }
}

impl IdentityError {
    /// A 429 says exactly when to come back.
    pub fn set_retry_after(&self, response: &mut HttpResponse) {
        if let Self::RateLimited { retry_after } = self {
            let secs = retry_after.as_secs().max(1).to_string();
            if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&secs) {
                response
                    .headers_mut()
                    .insert(actix_web::http::header::RETRY_AFTER, value);
            }
        }
    }
}

/// What an agent needs to have its human confirm it (the step-up of an ID-JAG whose
/// email already belongs to one of our humans).
#[derive(Debug, Clone)]
pub struct ClaimBlock {
    pub registration_id: String,
    pub claim_url: String,
    pub claim_token: String,
    pub claim_token_expires_at: i64,
}

impl ClaimBlock {
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "registration_id": self.registration_id,
            "claim_url": self.claim_url,
            "claim_token": self.claim_token,
            "claim_token_expires": crate::http::json::rfc3339(self.claim_token_expires_at),
        })
    }
}

impl From<IdentityError> for tonic::Status {
    fn from(error: IdentityError) -> Self {
        match error {
            IdentityError::InvalidRequest(message) => tonic::Status::invalid_argument(message),
            IdentityError::KeysUnavailable
            | IdentityError::MailUnavailable(_)
            | IdentityError::ProviderUnavailable(_)
            | IdentityError::Store(StoreError::Unavailable(_)) => {
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
            other => Self::Unavailable(other.to_string()),
        }
    }
}

impl From<StoreError> for SetError {
    fn from(error: StoreError) -> Self {
        Self::Unavailable(error.to_string())
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
