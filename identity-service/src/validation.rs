//! The exchange path's one call from token-service. token-service verifies our assertion
//! itself and asks [`Validation::lookup`] for its registration's current state: one store
//! read, no signature check, so the exchange's work scales with token-service replicas.
//! [`Validation::validate_assertion`] (verify here, then look up) stays for token-service
//! replicas of the version before, during a rolling upgrade.

use std::sync::Arc;

use protocol::jose::assertion::ExchangeRefusal;
use protocol::scope::ScopeSet;
use shared::keys::watch::KeyRingWatch;
use shared::time::unix_now;

use crate::assertion::Assertions;
use crate::error::IdentityError;
use crate::registration::record::{Registration, RegistrationId, RegistrationStatus, RegistrationType};
use crate::registration::store::RegistrationStore;

/// What the exchange path reads: the verification keys and the registration store.
#[derive(Debug)]
pub struct Validation {
    assertions: Assertions,
    keys: KeyRingWatch,
    store: Arc<dyn RegistrationStore>,
}

#[derive(Debug)]
pub enum Outcome {
    Grantable(Box<RegistrationGrant>),
    Refused(ExchangeRefusal),
}

/// What a registration may be granted now.
#[derive(Debug)]
pub struct RegistrationGrant {
    /// The registration id: the access token's `sub`.
    pub subject: String,
    pub client_id: String,
    pub registration_type: RegistrationType,
    pub status: RegistrationStatus,
    pub scopes: ScopeSet,
    /// The DPoP key thumbprint tokens must be bound to, if any.
    pub bound_jkt: Option<String>,
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

    /// What registration `subject` may be granted now, for an assertion token-service
    /// verified (issued to `client_id`): one store read.
    pub async fn lookup(&self, subject: &str, client_id: &str) -> Result<Outcome, IdentityError> {
        let Ok(id) = RegistrationId::parse(subject) else {
            return Ok(Outcome::Refused(ExchangeRefusal::InvalidAssertion(
                "assertion subject is not a registration".into(),
            )));
        };
        let Some(registration) = self.store.get(&id).await? else {
            return Ok(Outcome::Refused(ExchangeRefusal::UnknownRegistration));
        };
        let bound_jkt = registration.jkt.clone();
        Ok(grantable(registration, client_id, bound_jkt, unix_now()))
    }
}

/// The registration's derived grant for an assertion issued to `client_id`.
fn grantable(registration: Registration, client_id: &str, bound_jkt: Option<String>, now: i64) -> Outcome {
    if registration.client_id != client_id {
        return Outcome::Refused(ExchangeRefusal::InvalidAssertion(
            "assertion client does not match its registration".into(),
        ));
    }
    match registration.grantable_scopes(now) {
        Ok((status, scopes)) => Outcome::Grantable(Box::new(RegistrationGrant {
            subject: registration.id.to_string(),
            client_id: registration.client_id,
            registration_type: registration.registration_type,
            status,
            scopes,
            bound_jkt,
        })),
        Err(refusal) => Outcome::Refused(refusal.into()),
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
        Err(refused) => return Ok(Outcome::Refused(refused)),
    };
    let Ok(id) = RegistrationId::parse(&claims.sub) else {
        return Ok(Outcome::Refused(ExchangeRefusal::InvalidAssertion(
            "assertion subject is not a registration".into(),
        )));
    };
    let Some(registration) = validation.store.get(&id).await? else {
        return Ok(Outcome::Refused(ExchangeRefusal::UnknownRegistration));
    };
    let bound_jkt = claims.cnf.map(|cnf| cnf.jkt);
    Ok(grantable(registration, &claims.client_id, bound_jkt, now))
}
