//! What the human's account page shows of delegation: the tokens handed on in the
//! human's name (through an application they allowed) or in their agents' names in the
//! last day, and revoking one, which ends everything exchanged from it.

use super::{Authorizations, AuthorizeError, DelegationView, SignedIn};

impl Authorizations {
    /// The delegations made in `who`'s name or in the names of `agents` (theirs), newest
    /// first.
    pub async fn delegations_of(
        &self,
        who: &SignedIn,
        agents: &[String],
    ) -> Result<Vec<DelegationView>, AuthorizeError> {
        Ok(self.delegations.list(&principals(who, agents)).await?)
    }

    /// Revokes one delegation made in `who`'s or `agents`' names; `false` when there is
    /// none by that `jti`.
    pub async fn revoke_delegation(
        &self,
        who: &SignedIn,
        agents: &[String],
        jti: &str,
    ) -> Result<bool, AuthorizeError> {
        Ok(self.delegations.revoke(&principals(who, agents), jti).await?)
    }
}

fn principals(who: &SignedIn, agents: &[String]) -> Vec<String> {
    std::iter::once(who.human.as_str().to_owned())
        .chain(agents.iter().cloned())
        .collect()
}
