//! Where registrations live: Redis in production, memory for the all-in-one runner and
//! unit tests; both pass the contract suite in `tests/api/store_contract.rs`.

mod authorize_memory;
mod authorize_redis;
mod compact;
mod links_memory;
mod links_redis;
mod memory;
mod redis;
mod sessions_memory;
mod sessions_redis;

use std::sync::Arc;

use shared::settings::{StoreBackend, StoreSettings};
use shared::store::{Connections, Reachable, StoreError};

use crate::authorize::record::{Grant, GrantId, HumanId, IssuedCode, LoginAttempt, LoginId, TakenCode};
use crate::email::Email;
use crate::registration::record::{Registration, RegistrationId};

pub use self::authorize_memory::MemoryAuthorizations;
pub use self::authorize_redis::RedisAuthorizations;
pub use self::links_memory::MemoryLinks;
pub use self::links_redis::RedisLinks;
pub use self::memory::MemoryRegistrationStore;
pub use self::redis::RedisRegistrationStore;
pub use self::sessions_memory::MemorySessions;
pub use self::sessions_redis::RedisSessions;

#[async_trait::async_trait]
pub trait RegistrationStore: Reachable + std::fmt::Debug {
    /// Stores a new registration; `drop_at` (Unix seconds) lets the store forget it then.
    async fn create(&self, registration: &Registration, drop_at: Option<i64>) -> Result<(), StoreError>;
    /// One read: the hot path of every token exchange.
    async fn get(&self, id: &RegistrationId) -> Result<Option<Registration>, StoreError>;
    /// Replaces the stored registration only if its `version` is still `expected_version`
    /// (atomic across replicas); `false` when someone else wrote first or it is gone.
    /// `drop_at` replaces the expiry (`None`: keep forever).
    async fn update(
        &self,
        registration: &Registration,
        expected_version: u64,
        drop_at: Option<i64>,
    ) -> Result<bool, StoreError>;
}

/// Which registration a provider's `(iss, sub)` delegation maps to.
#[async_trait::async_trait]
pub trait DelegationStore: Send + Sync + std::fmt::Debug {
    async fn delegation(&self, iss: &str, sub: &str) -> Result<Option<RegistrationId>, StoreError>;
    /// Links the delegation unless it is already linked; returns the registration it maps
    /// to afterwards (ours, or the one a racing replica linked first).
    async fn link_delegation(&self, iss: &str, sub: &str, id: &RegistrationId) -> Result<RegistrationId, StoreError>;
    async fn unlink_delegation(&self, iss: &str, sub: &str) -> Result<(), StoreError>;
    /// Records that the provider revoked `(iss, sub)`: whatever it asserted up to `cutoff`
    /// (Unix seconds) no longer counts. Remembered until `until`.
    async fn record_revocation(&self, iss: &str, sub: &str, cutoff: i64, until: i64) -> Result<(), StoreError>;
    /// The cutoff of the revocation of `(iss, sub)` still remembered, if any.
    async fn revoked_through(&self, iss: &str, sub: &str) -> Result<Option<i64>, StoreError>;
}

/// Humans who own at least one claimed registration, by email, and what they own.
#[async_trait::async_trait]
pub trait UserDirectory: Send + Sync + std::fmt::Debug {
    async fn user_exists(&self, email: &Email) -> Result<bool, StoreError>;
    /// Records that `email` owns registration `id` (and so is a known human).
    async fn record_owned(&self, email: &Email, id: &RegistrationId) -> Result<(), StoreError>;
    /// Every registration `email` was recorded owning, in no order.
    async fn owned_by(&self, email: &Email) -> Result<Vec<RegistrationId>, StoreError>;
}

/// Provider token ids already seen, keyed by issuer and `jti`, remembered until `until`.
#[async_trait::async_trait]
pub trait ReplayCache: Send + Sync + std::fmt::Debug {
    /// `true` the first time `(iss, jti)` is seen, `false` on every replay.
    async fn first_use(&self, iss: &str, jti: &str, until: i64) -> Result<bool, StoreError>;
}

/// The authorization endpoint's records: sign-in attempts, codes and grants. Every
/// method is one atomic step on one key, so replicas racing on a record never both win.
#[async_trait::async_trait]
pub trait AuthorizationStore: Send + Sync + std::fmt::Debug {
    /// Stores a new sign-in attempt, with no failures yet; forgotten at `until`.
    async fn put_login(&self, attempt: &LoginAttempt, until: i64) -> Result<(), StoreError>;
    /// The attempt and how many codes were tried against it.
    async fn login(&self, id: &LoginId) -> Result<Option<(LoginAttempt, u32)>, StoreError>;
    /// Counts one more code tried, before it is checked, so parallel guesses are counted
    /// all the same; the tries so far (0 when the attempt is gone).
    async fn count_login_try(&self, id: &LoginId) -> Result<u32, StoreError>;
    /// Ends the attempt; `true` only for the one caller that ended it.
    async fn take_login(&self, id: &LoginId) -> Result<bool, StoreError>;

    /// Stores a code under the keyed hash of its value; forgotten at `until`.
    async fn put_code(&self, hash: &str, code: &IssuedCode, until: i64) -> Result<(), StoreError>;
    /// Marks the code spent: [`TakenCode::Fresh`] for exactly one caller, then
    /// [`TakenCode::Spent`] until it is forgotten.
    async fn take_code(&self, hash: &str) -> Result<TakenCode, StoreError>;
    /// Records that the code's first use redeemed (a later replay then revokes).
    async fn mark_code_redeemed(&self, hash: &str) -> Result<(), StoreError>;

    /// Stores (or replaces) a grant, and makes it the consent of its human and client;
    /// `false` (nothing written) when that would undo a revocation: a revoked grant stays
    /// revoked, whatever races it. A revoked grant is forgotten after `REVOKED_GRANT_MEMORY`.
    async fn put_grant(&self, grant: &Grant) -> Result<bool, StoreError>;
    async fn grant(&self, id: &GrantId) -> Result<Option<Grant>, StoreError>;
    /// The grant a human last gave a client, if any (revoked ones included).
    async fn consent(&self, subject: &HumanId, client_id: &str) -> Result<Option<Grant>, StoreError>;
    /// Every grant a human gave, newest first.
    async fn grants_of(&self, subject: &HumanId) -> Result<Vec<Grant>, StoreError>;
}

/// A human's browser session, held here so that it can end: the cookie carries only an
/// unguessable id, and the store knows the session by the keyed hash of that id (its
/// handle), so the store's contents sign no one in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionRecord {
    /// What the session middleware keeps for the browser (CSRF token, sign-in in
    /// progress, the human), as it gave it.
    pub state: std::collections::HashMap<String, String>,
    /// The human signed in, for their list of sessions.
    pub human: Option<HumanId>,
    /// A name the human may see for it (never the cookie's id or the handle).
    pub label: String,
    pub created_at: i64,
    /// Forgotten then, whatever happens meanwhile: `authorize.session_ttl` after it began.
    pub expires_at: i64,
}

/// A human keeps at most this many live sessions; signing in once more ends the oldest.
pub const MAX_SESSIONS_PER_HUMAN: usize = 20;

/// Browser sessions of the authorization endpoint and the account page, by handle.
#[async_trait::async_trait]
pub trait SessionStore: Send + Sync + std::fmt::Debug {
    /// Stores (or replaces) the session; it is forgotten at `record.expires_at`. A
    /// signed-in session joins its human's list, which keeps the newest
    /// [`MAX_SESSIONS_PER_HUMAN`].
    async fn put_session(&self, handle: &str, record: &SessionRecord) -> Result<(), StoreError>;
    async fn session(&self, handle: &str) -> Result<Option<SessionRecord>, StoreError>;
    /// Ends the session for every copy of its cookie, on every replica.
    async fn end_session(&self, handle: &str) -> Result<(), StoreError>;
    /// The human's live sessions, newest first.
    async fn sessions_of(&self, human: &HumanId) -> Result<Vec<(String, SessionRecord)>, StoreError>;
}

/// How long a revoked grant stays listed on its human's page before the store drops it.
pub const REVOKED_GRANT_MEMORY: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// Every store identity-service uses, from one backend.
#[derive(Debug, Clone)]
pub struct Stores {
    pub registrations: Arc<dyn RegistrationStore>,
    pub delegations: Arc<dyn DelegationStore>,
    pub users: Arc<dyn UserDirectory>,
    pub replay: Arc<dyn ReplayCache>,
    pub authorizations: Arc<dyn AuthorizationStore>,
    pub sessions: Arc<dyn SessionStore>,
}

/// The stores `settings` describe; Redis stores share the process's connection.
pub fn from_settings(settings: &StoreSettings, connections: &Connections) -> Result<Stores, StoreError> {
    Ok(match settings.backend {
        StoreBackend::Memory => {
            let links = Arc::new(MemoryLinks::default());
            Stores {
                registrations: Arc::new(MemoryRegistrationStore::default()),
                delegations: links.clone(),
                users: links.clone(),
                replay: links,
                authorizations: Arc::new(MemoryAuthorizations::default()),
                sessions: Arc::new(MemorySessions::default()),
            }
        }
        StoreBackend::Redis => {
            let conn = connections.redis(settings)?;
            let links = Arc::new(RedisLinks::new(conn.clone(), settings));
            Stores {
                registrations: Arc::new(RedisRegistrationStore::new(conn.clone(), settings)),
                delegations: links.clone(),
                users: links.clone(),
                replay: links,
                authorizations: Arc::new(RedisAuthorizations::new(conn.clone(), settings)),
                sessions: Arc::new(RedisSessions::new(conn, settings)),
            }
        }
    })
}
