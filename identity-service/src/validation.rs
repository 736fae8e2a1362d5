//! The exchange-path check token-service asks for: verify the assertion (one signature
//! check), read its registration (one store read), derive what may be granted.

use std::sync::Arc;

use shared::jose::watch::KeyRingWatch;
use shared::jose::{VerifyError, unix_now};
use shared::scope::ScopeSet;

use crate::assertion::{AssertionClaims, AssertionRejected, Assertions};
use crate::error::IdentityError;
use crate::registration::record::{GrantRefusal, Registration, RegistrationId, RegistrationStatus, RegistrationType};
use crate::store::RegistrationStore;

/// What the exchange path reads: the verification keys and the registration store.
#[derive(Debug)]
pub struct Validation {
    assertions: Assertions,
    keys: KeyRingWatch,
    store: Arc<dyn RegistrationStore>,
}

#[derive(Debug)]
pub enum Outcome {
    Grantable(Box<Grantable>),
    Refused(Refusal),
}

#[derive(Debug)]
pub struct Grantable {
    pub claims: AssertionClaims,
    pub registration_type: RegistrationType,
    pub status: RegistrationStatus,
    pub scopes: ScopeSet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    InvalidAssertion(&'static str),
    AssertionExpired,
    ForeignAssertion,
    UnknownRegistration,
    Registration(GrantRefusal),
}

impl Refusal {
    /// A fixed name, for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::InvalidAssertion(_) => "invalid_assertion",
            Self::AssertionExpired => "assertion_expired",
            Self::ForeignAssertion => "foreign_assertion",
            Self::UnknownRegistration => "unknown_registration",
            Self::Registration(GrantRefusal::Revoked) => "registration_revoked",
            Self::Registration(GrantRefusal::Expired) => "registration_expired",
            Self::Registration(GrantRefusal::UserAuthenticationRequired) => "user_authentication_required",
        }
    }
}

impl Validation {
    pub fn new(assertions: Assertions, keys: KeyRingWatch, store: Arc<dyn RegistrationStore>) -> Self {
        Self {
            assertions,
            keys,
            store,
        }
    }

    /// The registration `subject` names, if it is one and is known (one store read).
    pub async fn registration(&self, subject: &str) -> Result<Option<Registration>, IdentityError> {
        let Ok(id) = RegistrationId::parse(subject) else {
            return Ok(None);
        };
        Ok(self.store.get(&id).await?)
    }

    pub async fn validate_assertion(&self, assertion: &str) -> Result<Outcome, IdentityError> {
        validate_assertion(self, assertion).await
    }
}

async fn validate_assertion(validation: &Validation, assertion: &str) -> Result<Outcome, IdentityError> {
    let now = unix_now();
    let keys = validation.keys.borrow().clone();
    if keys.published_kids().next().is_none() {
        return Err(IdentityError::KeysUnavailable);
    }
    let claims = match validation.assertions.verify(&keys, assertion, now) {
        Ok(claims) => claims,
        Err(rejected) => return Ok(Outcome::Refused(refusal_for(&rejected))),
    };
    let Ok(id) = RegistrationId::parse(&claims.sub) else {
        return Ok(Outcome::Refused(Refusal::InvalidAssertion(
            "assertion subject is not a registration",
        )));
    };
    let Some(registration) = validation.store.get(&id).await? else {
        return Ok(Outcome::Refused(Refusal::UnknownRegistration));
    };
    if registration.client_id != claims.client_id {
        return Ok(Outcome::Refused(Refusal::InvalidAssertion(
            "assertion client does not match its registration",
        )));
    }
    Ok(match registration.grantable_scopes(now) {
        Ok((status, scopes)) => Outcome::Grantable(Box::new(Grantable {
            claims,
            registration_type: registration.registration_type,
            status,
            scopes,
        })),
        Err(refusal) => Outcome::Refused(Refusal::Registration(refusal)),
    })
}

fn refusal_for(rejected: &AssertionRejected) -> Refusal {
    match rejected {
        AssertionRejected::Token(VerifyError::Expired) => Refusal::AssertionExpired,
        AssertionRejected::Token(VerifyError::WrongIssuer | VerifyError::WrongAudience) => Refusal::ForeignAssertion,
        AssertionRejected::Token(VerifyError::UnknownKey) => {
            Refusal::InvalidAssertion("assertion is not signed by a key of this server")
        }
        AssertionRejected::Token(VerifyError::BadSignature) => {
            Refusal::InvalidAssertion("assertion signature is invalid")
        }
        AssertionRejected::Token(VerifyError::WrongType) => {
            Refusal::InvalidAssertion("assertion typ must be oauth-id-jag+jwt")
        }
        AssertionRejected::Token(VerifyError::NotYetValid) | AssertionRejected::IssuedInTheFuture => {
            Refusal::InvalidAssertion("assertion is not valid yet")
        }
        AssertionRejected::LifetimeTooLong => Refusal::InvalidAssertion("assertion lifetime is too long"),
        AssertionRejected::Token(VerifyError::UnsupportedCritical) => {
            Refusal::InvalidAssertion("assertion names critical header parameters this server does not understand")
        }
        AssertionRejected::Token(_) => Refusal::InvalidAssertion("assertion is not a well-formed signed JWT"),
    }
}
