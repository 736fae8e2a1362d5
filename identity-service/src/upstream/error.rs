//! What can go wrong signing in at an identity provider.

/// Why an upstream sign-in did not end with a person. The texts are ours: nothing the
/// provider or the browser sent is echoed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    #[error("there is no such identity provider here")]
    UnknownProvider,
    #[error("the identity provider cannot be reached now: {0}")]
    Unavailable(String),
    /// The provider said no (`access_denied`, `login_required`, …).
    #[error("the identity provider did not sign you in")]
    Denied,
    /// This browser did not start this sign-in, or already finished it.
    #[error("this sign-in was not started in this browser, or was already used; start again")]
    NotThisSignIn,
    #[error("the sign-in answer came from another identity provider than the one it was sent to")]
    MixUp,
    #[error("the identity provider's ID token was refused: {0}")]
    BadIdToken(&'static str),
    #[error("the identity provider refused the code: {0}")]
    CodeRefused(String),
    #[error("the identity provider gave no email address")]
    NoEmail,
    #[error("this account's email domain may not sign in here")]
    DomainNotAllowed,
}
