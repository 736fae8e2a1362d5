//! What goes wrong at the authorization endpoint, in two kinds (RFC 6749 §4.1.2.1):
//! until the client and its redirect URI are known good, the human is shown a page and
//! nothing is sent anywhere; after that, protocol errors go back to the client at its
//! redirect URI, with `state` and `iss`.

use std::time::Duration;

use shared::store::StoreError;

use crate::error::IdentityError;

/// An RFC 6749 §4.1.2.1 error response, to be sent to a redirect URI already checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRedirect {
    pub redirect_uri: String,
    pub state: Option<String>,
    /// `invalid_request`, `unsupported_response_type`, `invalid_scope`, `access_denied`…
    pub error: &'static str,
    pub description: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthorizeError {
    /// The request is unusable before its client is known (no `client_id`, a repeated
    /// one): a page, never a redirect.
    #[error("{0}")]
    InvalidRequest(String),
    #[error("this application cannot sign you in: {0}")]
    UnknownClient(String),
    /// RFC 6749 §4.1.2.1 / RFC 9700 §4.1: never redirect to an unregistered URI.
    #[error("the application's redirect address is not one it registered, so we will not send you there")]
    InvalidRedirectUri,
    /// An error for the client, sent to its redirect URI.
    #[error("{}: {}", .0.error, .0.description)]
    Redirect(ErrorRedirect),
    #[error("that is not an email address we can send a code to")]
    InvalidEmail,
    #[error("that code is not right; check the latest mail and try again")]
    WrongCode,
    #[error("this sign-in has expired or was used; start again")]
    LoginExpired,
    /// No session, an expired one, or a form from another session (RFC 9700 §4.7).
    #[error("your session expired or this form is stale; go back to the application and start again")]
    StaleForm,
    #[error("too many attempts; try again in {} seconds", retry_after.as_secs().max(1))]
    RateLimited { retry_after: Duration },
    #[error("{0}")]
    Unavailable(String),
    /// A sign-in at an identity provider that did not end with a person.
    #[error(transparent)]
    Upstream(#[from] crate::upstream::UpstreamError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

impl AuthorizeError {
    /// The HTTP status of the page that shows it.
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidRequest(_)
            | Self::UnknownClient(_)
            | Self::InvalidRedirectUri
            | Self::InvalidEmail
            | Self::LoginExpired
            // A page, not an HTTP authentication challenge: 401 would need one.
            | Self::WrongCode => 400,
            Self::StaleForm => 403,
            Self::Redirect(_) => 303,
            Self::RateLimited { .. } => 429,
            Self::Upstream(crate::upstream::UpstreamError::Unavailable(_)) => 503,
            Self::Upstream(_) => 400,
            Self::Unavailable(_) | Self::Store(StoreError::Unavailable(_)) => 503,
            Self::Store(StoreError::Corrupt { .. }) | Self::Internal(_) => 500,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}

impl From<IdentityError> for AuthorizeError {
    fn from(error: IdentityError) -> Self {
        match error {
            IdentityError::RateLimited { retry_after } => Self::RateLimited { retry_after },
            IdentityError::InvalidEmail => Self::InvalidEmail,
            IdentityError::MailUnavailable(cause) => Self::Unavailable(cause),
            IdentityError::Store(error) => Self::Store(error),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl ErrorRedirect {
    /// The redirect URI with `error`, `error_description`, `state` and `iss`.
    pub fn location(&self, issuer: &str) -> String {
        let mut pairs = vec![("error", self.error), ("error_description", self.description.as_str())];
        pairs.extend(self.state.as_deref().map(|state| ("state", state)));
        pairs.push(("iss", issuer));
        location(&self.redirect_uri, &pairs)
    }
}

/// `redirect_uri` with `pairs` added to its query (RFC 6749 §4.1.2: keeping any query
/// it already has).
pub(super) fn location(redirect_uri: &str, pairs: &[(&str, &str)]) -> String {
    match url::Url::parse(redirect_uri) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(pairs);
            url.to_string()
        }
        // Registered URIs are absolute; should one not parse, append by hand rather than
        // send the browser nowhere.
        Err(_) => {
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish();
            let separator = if redirect_uri.contains('?') { '&' } else { '?' };
            format!("{redirect_uri}{separator}{query}")
        }
    }
}

impl From<crate::peers::token_service::DirectoryError> for AuthorizeError {
    fn from(error: crate::peers::token_service::DirectoryError) -> Self {
        use crate::peers::token_service::DirectoryError;
        match error {
            DirectoryError::Refused(description) => Self::UnknownClient(description),
            DirectoryError::Unavailable(cause) => Self::Unavailable(cause),
            DirectoryError::Internal(cause) => Self::Internal(cause),
        }
    }
}

/// The one way an [`AuthorizeError`] leaves over gRPC: a refusal of token-service's
/// request is an outcome, never an error, so what is left is a failure to answer.
impl From<AuthorizeError> for tonic::Status {
    fn from(error: AuthorizeError) -> Self {
        tonic::Status::unavailable(error.to_string())
    }
}
