use protocol::scope::ScopeSet;
use serde::{Deserialize, Serialize};

/// One chain of refresh tokens, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshFamily {
    /// 128 random bits, base64url: the part of every token of the family before the dot.
    pub id: String,
    pub client_id: String,
    /// The human (`usr_…`).
    pub subject: String,
    /// The consent the family rests on (`gnt_…`).
    pub grant_id: String,
    pub scopes: ScopeSet,
    pub resources: Vec<String>,
    /// The DPoP key every token of the family is bound to, when the first one was.
    #[serde(default)]
    pub jkt: Option<String>,
    /// Keyed hash of the one token of the family that may be used next.
    pub current_hash: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_used_at: i64,
    #[serde(default)]
    pub revoked_at: Option<i64>,
}

impl RefreshFamily {
    /// Within its lifetime and not idle too long.
    pub fn alive(&self, now: i64, idle_timeout: std::time::Duration) -> bool {
        now < self.expires_at && now < self.last_used_at + idle_timeout.as_secs() as i64
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_family_dies_at_its_lifetime_or_after_its_idle_timeout() {
        let family = RefreshFamily {
            id: "f".into(),
            client_id: "c".into(),
            subject: "s".into(),
            grant_id: "g".into(),
            scopes: ScopeSet::default(),
            resources: Vec::new(),
            jkt: None,
            current_hash: "h".into(),
            created_at: 0,
            expires_at: 1000,
            last_used_at: 500,
            revoked_at: None,
        };
        let idle = Duration::from_secs(100);
        assert!(family.alive(599, idle));
        assert!(!family.alive(600, idle), "idle too long");
        let busy = RefreshFamily {
            last_used_at: 990,
            ..family
        };
        assert!(busy.alive(999, idle));
        assert!(!busy.alive(1000, idle), "past its lifetime however busy");
    }
}
