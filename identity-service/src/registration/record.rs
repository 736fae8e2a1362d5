//! The registration record as stored, and its status. Status is derived from
//! timestamps, never stored (DESIGN §5), so every replica agrees on it without
//! coordination. The claim attempt in progress is part of the record.

use std::time::Duration;

use protocol::id::{IdKind, PrefixedId};
use protocol::scope::ScopeSet;
use serde::{Deserialize, Serialize};

use crate::email::Email;

/// Registrations' identifiers: `reg_` followed by 32 lowercase hex digits.
#[derive(Debug)]
pub enum RegistrationKind {}

impl IdKind for RegistrationKind {
    const PREFIX: &'static str = "reg_";
    const WHAT: &'static str = "registration id";
}

pub type RegistrationId = PrefixedId<RegistrationKind>;

/// Claim attempts' identifiers: `att_` followed by 32 lowercase hex digits, shown to the
/// agent so it can tell attempts apart.
#[derive(Debug)]
pub enum AttemptKind {}

impl IdKind for AttemptKind {
    const PREFIX: &'static str = "att_";
    const WHAT: &'static str = "claim attempt id";
}

pub type AttemptId = PrefixedId<AttemptKind>;

/// A human's claim in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimAttempt {
    pub id: AttemptId,
    /// Where the link was mailed; becomes the owner when the claim completes.
    pub email: Email,
    /// Keyed hash of the link's secret.
    pub view_token_hash: String,
    pub link_expires_at: i64,
    /// The code the human minted last; every mint replaces it.
    pub otp: Option<Otp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Otp {
    /// Keyed hash of the code, bound to the attempt id.
    pub hash: String,
    pub expires_at: i64,
    /// Wrong codes tried against it; at the limit the code is dead.
    pub failures: u32,
}

impl ClaimAttempt {
    /// The link can still be used, or a code minted from it can still be entered.
    pub fn in_flight(&self, now: i64) -> bool {
        now < self.link_expires_at || self.otp.as_ref().is_some_and(|otp| now < otp.expires_at)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegistrationType {
    Anonymous,
    EmailVerification,
    IdentityAssertion,
}

impl RegistrationType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Anonymous => "anonymous",
            Self::EmailVerification => "email-verification",
            Self::IdentityAssertion => "identity-assertion",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationStatus {
    Unclaimed,
    PendingClaim,
    Claimed,
    Expired,
    Revoked,
}

impl RegistrationStatus {
    /// As a human reads it on their account page.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unclaimed => "unclaimed",
            Self::PendingClaim => "pending claim",
            Self::Claimed => "claimed",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

/// A registration as stored. Secrets appear only as keyed hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    pub id: RegistrationId,
    pub registration_type: RegistrationType,
    /// The OAuth `client_id` this agent acts as; carried into its tokens.
    pub client_id: String,
    /// Unix seconds, like every time below.
    pub created_at: i64,
    /// End of the claim window; an unclaimed registration is expired after it.
    pub claim_expires_at: i64,
    /// HMAC of the claim token's secret part; `None` once the claim handle is dropped.
    pub claim_token_hash: Option<String>,
    pub pre_claim_scopes: ScopeSet,
    pub post_claim_scopes: ScopeSet,
    /// The human's claim in progress: who was mailed, and the code they minted.
    pub claim_attempt: Option<ClaimAttempt>,
    /// The human who claimed it.
    pub owner_email: Option<Email>,
    /// The only human who may claim it: after a step-up, the one the provider named (the
    /// confirmation may not be sent anywhere else). `None`: whoever the agent names.
    #[serde(default)]
    pub claim_email: Option<Email>,
    /// The provider delegation `(iss, sub)` this registration stands for, if any.
    #[serde(default)]
    pub delegation: Option<Delegation>,
    pub claimed_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// The RFC 7638 thumbprint of the DPoP key the agent proved at registration: every
    /// assertion issued for it is bound to that key (`cnf.jkt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jkt: Option<String>,
    /// What its owner lets it hand on to other agents by token exchange (RFC 8693), set
    /// on `/agent/account`; `None`: nothing, once claimed. Before its claim an agent may
    /// hand on its pre-claim scopes, which are all it holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegable_scopes: Option<ScopeSet>,
    /// Bumped by every update: the store's compare-and-swap guard, so replicas racing
    /// on one registration never both win.
    pub version: u64,
}

/// A trusted provider's user, as its ID-JAG names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegation {
    pub iss: String,
    pub sub: String,
    /// `iat` of the assertion that created it; a revocation with a later cutoff kills it.
    #[serde(default)]
    pub issued_at: i64,
}

/// Why a registration may not be granted a token now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantRefusal {
    Revoked,
    Expired,
    UserAuthenticationRequired,
}

/// A registration's refusal, as the exchange's one refusal enum carries it.
impl From<GrantRefusal> for protocol::jose::assertion::ExchangeRefusal {
    fn from(refusal: GrantRefusal) -> Self {
        match refusal {
            GrantRefusal::Expired => Self::RegistrationExpired,
            GrantRefusal::Revoked => Self::RegistrationRevoked,
            GrantRefusal::UserAuthenticationRequired => Self::UserAuthenticationRequired,
        }
    }
}

impl Registration {
    /// A new, unclaimed registration whose claim window opens now.
    pub fn new(
        registration_type: RegistrationType,
        now: i64,
        claim_window: Duration,
        (pre_claim_scopes, post_claim_scopes): (ScopeSet, ScopeSet),
        claim_token_hash: String,
    ) -> Self {
        let id = RegistrationId::random();
        Self {
            client_id: id.to_string(),
            id,
            registration_type,
            created_at: now,
            claim_expires_at: now + claim_window.as_secs() as i64,
            claim_token_hash: Some(claim_token_hash),
            pre_claim_scopes,
            post_claim_scopes,
            claim_attempt: None,
            owner_email: None,
            claim_email: None,
            delegation: None,
            claimed_at: None,
            revoked_at: None,
            jkt: None,
            delegable_scopes: None,
            version: 0,
        }
    }

    /// When the store may forget this registration: never once claimed (it has an
    /// owner), else some time after its claim window closes.
    pub fn drop_at(&self, retention_after_expiry: Duration) -> Option<i64> {
        match self.claimed_at {
            Some(_) => None,
            None => Some(self.claim_expires_at + retention_after_expiry.as_secs() as i64),
        }
    }

    /// DESIGN §5, first match wins.
    pub fn status(&self, now: i64) -> RegistrationStatus {
        if self.revoked_at.is_some() {
            RegistrationStatus::Revoked
        } else if self.claimed_at.is_some() {
            RegistrationStatus::Claimed
        } else if now >= self.claim_expires_at {
            RegistrationStatus::Expired
        } else if self
            .claim_attempt
            .as_ref()
            .is_some_and(|attempt| attempt.in_flight(now))
        {
            RegistrationStatus::PendingClaim
        } else {
            RegistrationStatus::Unclaimed
        }
    }

    /// What the agent may hand on by token exchange now: before its claim, what it holds
    /// (its pre-claim scopes); once claimed, what its owner allowed of what it holds.
    /// `None`: nothing (not allowed, or no token may be granted).
    pub fn delegable(&self, now: i64) -> Option<ScopeSet> {
        let (status, held) = self.grantable_scopes(now).ok()?;
        match status {
            RegistrationStatus::Claimed => Some(self.delegable_scopes.as_ref()?.intersection(&held)),
            _ => Some(held),
        }
    }

    /// What a token for this registration may carry now. Anonymous registrations get
    /// their pre-claim scopes until claimed (a claim in flight stays capped); other kinds
    /// get nothing until a human completes the claim.
    pub fn grantable_scopes(&self, now: i64) -> Result<(RegistrationStatus, ScopeSet), GrantRefusal> {
        let status = self.status(now);
        match status {
            RegistrationStatus::Revoked => Err(GrantRefusal::Revoked),
            RegistrationStatus::Expired => Err(GrantRefusal::Expired),
            RegistrationStatus::Claimed => Ok((status, self.post_claim_scopes.clone())),
            RegistrationStatus::Unclaimed | RegistrationStatus::PendingClaim => match self.registration_type {
                RegistrationType::Anonymous => Ok((status, self.pre_claim_scopes.clone())),
                _ => Err(GrantRefusal::UserAuthenticationRequired),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registration(kind: RegistrationType) -> Registration {
        let scopes = (
            ScopeSet::parse("read").expect("scope"),
            ScopeSet::parse("read write").expect("scope"),
        );
        Registration::new(kind, 0, Duration::from_secs(100), scopes, "h".into())
    }

    fn attempt_until(link_expires_at: i64) -> Option<ClaimAttempt> {
        Some(ClaimAttempt {
            id: AttemptId::random(),
            email: Email::parse("a@example.com").expect("email"),
            view_token_hash: "v".into(),
            link_expires_at,
            otp: None,
        })
    }

    #[test]
    fn status_follows_the_design_order() {
        let mut r = registration(RegistrationType::Anonymous);
        assert_eq!(r.status(10), RegistrationStatus::Unclaimed);
        r.claim_attempt = attempt_until(50);
        assert_eq!(r.status(10), RegistrationStatus::PendingClaim);
        assert_eq!(r.status(60), RegistrationStatus::Unclaimed, "attempt over");
        assert_eq!(r.status(100), RegistrationStatus::Expired);
        r.claimed_at = Some(20);
        assert_eq!(
            r.status(100),
            RegistrationStatus::Claimed,
            "claimed outlives the window"
        );
        r.revoked_at = Some(30);
        assert_eq!(r.status(10), RegistrationStatus::Revoked);
    }

    #[test]
    fn anonymous_gets_pre_claim_scopes_until_claimed() {
        let mut r = registration(RegistrationType::Anonymous);
        assert_eq!(r.grantable_scopes(10).expect("grant").1.to_string(), "read");
        r.claim_attempt = attempt_until(50);
        assert_eq!(r.grantable_scopes(10).expect("grant").1.to_string(), "read");
        r.claimed_at = Some(20);
        assert_eq!(r.grantable_scopes(30).expect("grant").1.to_string(), "read write");
    }

    #[test]
    fn refusals() {
        let r = registration(RegistrationType::EmailVerification);
        assert_eq!(r.grantable_scopes(10), Err(GrantRefusal::UserAuthenticationRequired));
        let r = registration(RegistrationType::Anonymous);
        assert_eq!(r.grantable_scopes(100), Err(GrantRefusal::Expired));
        let mut r = registration(RegistrationType::Anonymous);
        r.revoked_at = Some(1);
        assert_eq!(r.grantable_scopes(10), Err(GrantRefusal::Revoked));
    }

    #[test]
    fn registration_ids_parse_strictly() {
        let id = RegistrationId::random();
        assert_eq!(
            RegistrationId::parse(id.as_str()).expect("own id").as_str(),
            id.as_str()
        );
        for bad in [
            "",
            "reg_",
            "reg_XYZ",
            "usr_0123456789abcdef0123456789abcdef",
            "reg_0123456789ABCDEF0123456789abcdef",
        ] {
            assert!(RegistrationId::parse(bad).is_err(), "{bad}");
        }
    }
}
