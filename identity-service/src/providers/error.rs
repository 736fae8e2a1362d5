//! Why a provider-signed token was refused. Each variant is mapped to the wire once per
//! surface, in `crate::error`: `{error, message}` for registrations, RFC 8935
//! `{err, description}` for security events.

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
