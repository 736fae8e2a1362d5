//! What the authorization endpoint stores: sign-in attempts, authorization codes and
//! grants (a human's consent to a client). Records carry no secrets: a sign-in code and
//! an authorization code are kept only as keyed hashes, and are the store's keys.

use protocol::id::{IdKind, PrefixedId};
use protocol::oauth::pkce::CodeChallenge;
use protocol::scope::ScopeSet;
use protocol::secrets::SecretHasher;
use serde::{Deserialize, Serialize};

use crate::email::Email;

/// Humans: `usr_` and 32 hex digits, a keyed hash of the normalized email, so the human
/// the claim ceremony knows by email is the same one every sign-in names, on every
/// replica, and the id reveals no address.
#[derive(Debug)]
pub enum HumanKind {}

impl IdKind for HumanKind {
    const PREFIX: &'static str = "usr_";
    const WHAT: &'static str = "human id";
}

pub type HumanId = PrefixedId<HumanKind>;

const HUMAN_ID_CONTEXT: &str = "human_id";

/// The human behind an email address.
pub fn human_id(hasher: &SecretHasher, email: &Email) -> HumanId {
    HumanId::from_digest(&hasher.tag(HUMAN_ID_CONTEXT, &email.normalized()))
}

const UPSTREAM_HUMAN_ID_CONTEXT: &str = "upstream_human_id";

/// The human an identity provider knows as `subject`: keyed by (provider, sub), never by
/// an address alone.
pub fn upstream_human_id(hasher: &SecretHasher, provider: &str, subject: &str) -> HumanId {
    HumanId::from_digest(&hasher.tag(UPSTREAM_HUMAN_ID_CONTEXT, &format!("{provider}\n{subject}")))
}

/// Grants: `gnt_` and 32 hex digits.
#[derive(Debug)]
pub enum GrantKind {}

impl IdKind for GrantKind {
    const PREFIX: &'static str = "gnt_";
    const WHAT: &'static str = "grant id";
}

pub type GrantId = PrefixedId<GrantKind>;

/// Sign-in attempts: `lgn_` and 32 hex digits; only the browser session that started
/// one can finish it.
#[derive(Debug)]
pub enum LoginKind {}

impl IdKind for LoginKind {
    const PREFIX: &'static str = "lgn_";
    const WHAT: &'static str = "sign-in attempt id";
}

pub type LoginId = PrefixedId<LoginKind>;

/// A sign-in in progress: a code was mailed to `email`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginAttempt {
    pub id: LoginId,
    pub email: Email,
    /// Keyed hash of `<id>:<code>`.
    pub code_hash: String,
    pub expires_at: i64,
}

/// A human's consent to a client: what it may hold on their behalf, until revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub id: GrantId,
    pub subject: HumanId,
    pub client_id: String,
    /// As the consent page showed it, for the human's own page later.
    pub client_name: String,
    pub scopes: ScopeSet,
    pub resources: Vec<String>,
    pub granted_at: i64,
    #[serde(default)]
    pub revoked_at: Option<i64>,
    /// The identity provider (its id) whose ID-JAGs this grant rests on; none for a
    /// consent the human gave here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// Who the provider named, as `(provider, sub)` names them, when an address linked
    /// them to `subject`: the grant is listed under it too, so the provider's security
    /// events about its user find it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<HumanId>,
    /// The human let the client hand this access on to agents it works with (RFC 8693
    /// delegation, never wider than the grant, ending with it).
    #[serde(default)]
    pub delegable: bool,
    /// Which of its scopes it may hand on, when the human chose; `None`: all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegable_scopes: Option<ScopeSet>,
}

/// The human's answer to handing the access on: not at all, all of it, or some scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandOn {
    Nothing,
    All,
    Only(ScopeSet),
}

impl Grant {
    /// What the client may hand on of this grant: nothing unless the human allowed it.
    pub fn delegable_scopes(&self) -> ScopeSet {
        match (&self.delegable, &self.delegable_scopes) {
            (false, _) => ScopeSet::default(),
            (true, Some(chosen)) => chosen.intersection(&self.scopes),
            (true, None) => self.scopes.clone(),
        }
    }

    /// Records the human's latest answer on handing it on.
    pub fn hand_on(&mut self, answer: &HandOn) {
        (self.delegable, self.delegable_scopes) = match answer {
            HandOn::Nothing => (false, None),
            HandOn::All => (true, None),
            HandOn::Only(scopes) if scopes.is_empty() => (false, None),
            HandOn::Only(scopes) => (true, Some(scopes.clone())),
        };
    }

    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }

    /// A consent the human gave here (not an identity provider's grant).
    pub fn is_consent(&self) -> bool {
        self.via.is_none()
    }

    /// Whether this consent already covers a request for `scopes` and `resources`.
    pub fn covers(&self, scopes: &ScopeSet, resources: &[String]) -> bool {
        self.is_active() && scopes.is_subset(&self.scopes) && resources.iter().all(|r| self.resources.contains(r))
    }
}

/// An authorization code as issued: everything it is bound to (RFC 6749 §4.1.3,
/// RFC 7636 §4.6, RFC 8707 §2.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedCode {
    pub grant_id: GrantId,
    pub subject: HumanId,
    pub client_id: String,
    pub redirect_uri: String,
    pub challenge: CodeChallenge,
    pub scopes: ScopeSet,
    pub resources: Vec<String>,
    pub auth_time: i64,
    pub expires_at: i64,
}

/// What taking a code from the store found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TakenCode {
    /// Never taken before: this caller spent it.
    Fresh(IssuedCode),
    /// Taken before: a replay. `redeemed` when that first use got as far as a grant
    /// (tokens may have been issued from it).
    Spent { code: IssuedCode, redeemed: bool },
    /// Unknown, or forgotten since.
    Unknown,
}
