//! Where the authorization endpoint's records are kept: the traits it needs, implemented
//! in `crate::store`.

use shared::store::StoreError;

use super::record::{Grant, GrantId, HumanId, IssuedCode, LoginAttempt, LoginId, TakenCode};

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
    /// Every grant a human gave, newest first, and those an identity provider gave for
    /// its user `subject` names (a grant's `upstream`).
    async fn grants_of(&self, subject: &HumanId) -> Result<Vec<Grant>, StoreError>;

    /// Remembers that a human exists (signed in, or an identity provider named them);
    /// `true` the first time.
    async fn remember_human(&self, human: &HumanId, now: i64) -> Result<bool, StoreError>;
    /// Whether a human was ever remembered.
    async fn human_known(&self, human: &HumanId) -> Result<bool, StoreError>;
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
    /// Who signed in at an identity provider, as `(provider, sub)` names them, when that
    /// is not `human` (an address linked them): the session is listed under it too, so a
    /// provider's back-channel logout finds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<HumanId>,
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
