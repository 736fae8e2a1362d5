use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use shared::store::StoreError;
use shared::time::unix_now;

use crate::authorize::record::{Grant, GrantId, HumanId, IssuedCode, LoginAttempt, LoginId, TakenCode};
use crate::authorize::store::{AuthorizationStore, REVOKED_GRANT_MEMORY};

/// Sign-ins, codes and grants for the all-in-one runner and unit tests. Expired
/// attempts and codes are swept whenever one is added: humans add them at human speed.
#[derive(Debug, Default)]
pub struct MemoryAuthorizations {
    logins: Mutex<HashMap<String, Expiring<(LoginAttempt, u32)>>>,
    codes: Mutex<HashMap<String, Expiring<StoredCode>>>,
    grants: Mutex<Grants>,
    /// Humans who exist here, with when they first did.
    humans: Mutex<HashMap<String, i64>>,
}

/// A code, whether it was taken, and whether that first use redeemed.
#[derive(Debug)]
struct StoredCode {
    code: IssuedCode,
    spent: bool,
    redeemed: bool,
}

#[derive(Debug)]
struct Expiring<T> {
    value: T,
    until: i64,
}

#[derive(Debug, Default)]
struct Grants {
    by_id: HashMap<String, Grant>,
    /// `(subject, client_id)` → the grant id of that consent.
    consents: HashMap<(String, String), String>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The live entry at `key`, dropping it if it has expired.
fn live<'m, T>(map: &'m mut HashMap<String, Expiring<T>>, key: &str) -> Option<&'m mut T> {
    if map.get(key).is_some_and(|e| e.until <= unix_now()) {
        map.remove(key);
    }
    map.get_mut(key).map(|e| &mut e.value)
}

fn insert<T>(map: &mut HashMap<String, Expiring<T>>, key: &str, value: T, until: i64) {
    let now = unix_now();
    map.retain(|_, e| e.until > now);
    map.insert(key.to_owned(), Expiring { value, until });
}

#[async_trait::async_trait]
impl AuthorizationStore for MemoryAuthorizations {
    async fn put_login(&self, attempt: &LoginAttempt, until: i64) -> Result<(), StoreError> {
        insert(
            &mut lock(&self.logins),
            attempt.id.as_str(),
            (attempt.clone(), 0),
            until,
        );
        Ok(())
    }

    async fn login(&self, id: &LoginId) -> Result<Option<(LoginAttempt, u32)>, StoreError> {
        Ok(live(&mut lock(&self.logins), id.as_str()).cloned())
    }

    async fn count_login_try(&self, id: &LoginId) -> Result<u32, StoreError> {
        Ok(live(&mut lock(&self.logins), id.as_str()).map_or(0, |(_, failures)| {
            *failures += 1;
            *failures
        }))
    }

    async fn take_login(&self, id: &LoginId) -> Result<bool, StoreError> {
        let mut logins = lock(&self.logins);
        let found = live(&mut logins, id.as_str()).is_some();
        logins.remove(id.as_str());
        Ok(found)
    }

    async fn put_code(&self, hash: &str, code: &IssuedCode, until: i64) -> Result<(), StoreError> {
        let stored = StoredCode {
            code: code.clone(),
            spent: false,
            redeemed: false,
        };
        insert(&mut lock(&self.codes), hash, stored, until);
        Ok(())
    }

    async fn take_code(&self, hash: &str) -> Result<TakenCode, StoreError> {
        Ok(match live(&mut lock(&self.codes), hash) {
            None => TakenCode::Unknown,
            Some(stored) if stored.spent => TakenCode::Spent {
                code: stored.code.clone(),
                redeemed: stored.redeemed,
            },
            Some(stored) => {
                stored.spent = true;
                TakenCode::Fresh(stored.code.clone())
            }
        })
    }

    async fn mark_code_redeemed(&self, hash: &str) -> Result<(), StoreError> {
        if let Some(stored) = live(&mut lock(&self.codes), hash) {
            stored.redeemed = true;
        }
        Ok(())
    }

    async fn put_grant(&self, grant: &Grant) -> Result<bool, StoreError> {
        let mut grants = lock(&self.grants);
        let forget_before = unix_now() - REVOKED_GRANT_MEMORY.as_secs() as i64;
        grants
            .by_id
            .retain(|_, g| g.revoked_at.is_none_or(|at| at > forget_before));
        let undoes_revocation = grant.revoked_at.is_none()
            && grants
                .by_id
                .get(grant.id.as_str())
                .is_some_and(|stored| stored.revoked_at.is_some());
        if undoes_revocation {
            return Ok(false);
        }
        let consent = (grant.subject.to_string(), grant.client_id.clone());
        grants.consents.insert(consent, grant.id.to_string());
        grants.by_id.insert(grant.id.to_string(), grant.clone());
        Ok(true)
    }

    async fn grant(&self, id: &GrantId) -> Result<Option<Grant>, StoreError> {
        Ok(lock(&self.grants).by_id.get(id.as_str()).cloned())
    }

    async fn consent(&self, subject: &HumanId, client_id: &str) -> Result<Option<Grant>, StoreError> {
        let grants = lock(&self.grants);
        let consent = (subject.to_string(), client_id.to_owned());
        Ok(grants
            .consents
            .get(&consent)
            .and_then(|id| grants.by_id.get(id))
            .cloned())
    }

    async fn grants_of(&self, subject: &HumanId) -> Result<Vec<Grant>, StoreError> {
        let mut found: Vec<Grant> = lock(&self.grants)
            .by_id
            .values()
            .filter(|g| g.subject == *subject || g.upstream.as_ref() == Some(subject))
            .cloned()
            .collect();
        found.sort_by_key(|g| std::cmp::Reverse(g.granted_at));
        Ok(found)
    }

    async fn remember_human(&self, human: &HumanId, now: i64) -> Result<bool, StoreError> {
        let mut humans = lock(&self.humans);
        if humans.contains_key(human.as_str()) {
            return Ok(false);
        }
        humans.insert(human.to_string(), now);
        Ok(true)
    }

    async fn human_known(&self, human: &HumanId) -> Result<bool, StoreError> {
        Ok(lock(&self.humans).contains_key(human.as_str()))
    }
}
