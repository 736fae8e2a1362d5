//! The one error enum of identity-service, and the one place it becomes an HTTP response
//! (`{error, message}`, DESIGN §6; RFC 8935 `{err, description}` for [`SetError`]) or a
//! gRPC status. A provider's refusal ([`ProviderError`]) is mapped here too, once per
//! surface.

mod security_events;

pub use self::security_events::SetError;

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
    /// A provider's token refused (or its keys unreachable).
    #[error(transparent)]
    Provider(#[from] ProviderError),
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
            Self::Provider(error) => provider_code(error),
            Self::KeysUnavailable | Self::MailUnavailable(_) | Self::Store(StoreError::Unavailable(_)) => {
                "temporarily_unavailable"
            }
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
            Self::InvalidClaimToken | Self::OtpInvalid => StatusCode::UNAUTHORIZED,
            Self::Provider(error) => provider_status(error),
            Self::ClaimedOrInFlight | Self::PreviouslyClaimed => StatusCode::CONFLICT,
            Self::ClaimExpired | Self::OtpExpired | Self::ClaimLinkExpired => StatusCode::GONE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::KeysUnavailable | Self::MailUnavailable(_) | Self::Store(StoreError::Unavailable(_)) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
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
        let mut response = shared::envelope::agent_error(status, self.code(), &message);
        self.set_retry_after(&mut response);
        response
    }
}

/// A provider's refusal on the registration surface: malformed input is the agent's
/// `invalid_request`, anything about the provider's statement itself a 401 naming why.
fn provider_code(error: &ProviderError) -> &'static str {
    match error {
        ProviderError::Malformed(_)
        | ProviderError::WrongType
        | ProviderError::UnsupportedCritical
        | ProviderError::MissingClaim(_)
        | ProviderError::InvalidEvent(_) => "invalid_request",
        ProviderError::LifetimeTooLong => "lifetime_too_long",
        ProviderError::UntrustedIssuer(_) | ProviderError::ForeignSubject => "invalid_issuer",
        ProviderError::UnknownKey(_) | ProviderError::InvalidSignature => "invalid_signature",
        ProviderError::Expired => "expired",
        ProviderError::InvalidAudience => "invalid_audience",
        ProviderError::Replayed => "replay_detected",
        ProviderError::MissingVerifiedEmail => "missing_verified_email",
        ProviderError::KeysUnavailable(_) => "temporarily_unavailable",
    }
}

fn provider_status(error: &ProviderError) -> StatusCode {
    match error {
        ProviderError::Malformed(_)
        | ProviderError::WrongType
        | ProviderError::UnsupportedCritical
        | ProviderError::MissingClaim(_)
        | ProviderError::InvalidEvent(_) => StatusCode::BAD_REQUEST,
        ProviderError::KeysUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::UNAUTHORIZED,
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

impl From<IdentityError> for tonic::Status {
    fn from(error: IdentityError) -> Self {
        match error {
            IdentityError::InvalidRequest(message) => tonic::Status::invalid_argument(message),
            IdentityError::KeysUnavailable
            | IdentityError::MailUnavailable(_)
            | IdentityError::Provider(ProviderError::KeysUnavailable(_))
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

/// Why a provider-signed token was refused; each maps to one wire error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("the token is not a well-formed signed JWT: {0}")]
    Malformed(String),
    #[error("`{0}` is not a trusted provider")]
    UntrustedIssuer(String),
    #[error("the provider publishes no key `{0}`")]
    UnknownKey(String),
    #[error("the signature does not verify")]
    InvalidSignature,
    #[error("the token has expired or is not valid yet")]
    Expired,
    #[error("the token is meant for another audience")]
    InvalidAudience,
    #[error("the token has the wrong type")]
    WrongType,
    #[error("the token names critical header parameters this server does not understand")]
    UnsupportedCritical,
    #[error("the token's lifetime exceeds the maximum this server accepts")]
    LifetimeTooLong,
    #[error("the provider's keys cannot be fetched: {0}")]
    KeysUnavailable(String),
    #[error("the token lacks `{0}`")]
    MissingClaim(&'static str),
    #[error("this assertion was already used")]
    Replayed,
    #[error("the assertion carries no verified email")]
    MissingVerifiedEmail,
    #[error("an event may only name its own issuer's subjects")]
    ForeignSubject,
    /// An event token that lacks what its kind must carry.
    #[error("{0}")]
    InvalidEvent(&'static str),
}
