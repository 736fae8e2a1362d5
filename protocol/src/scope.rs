//! OAuth scopes (RFC 6749 §3.3): space-delimited, case-sensitive tokens of
//! `%x21 / %x23-5B / %x5D-7E`. Parsed once at the edge; sets keep a stable order so
//! responses and tokens are deterministic.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Scope(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a valid scope token (RFC 6749 §3.3)")]
pub struct InvalidScope(pub String);

impl Scope {
    pub fn parse(token: &str) -> Result<Self, InvalidScope> {
        let valid = !token.is_empty()
            && token
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
        if valid {
            Ok(Self(token.to_owned()))
        } else {
            Err(InvalidScope(token.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Scope {
    type Error = InvalidScope;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Scope> for String {
    fn from(scope: Scope) -> Self {
        scope.0
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeSet(BTreeSet<Scope>);

impl ScopeSet {
    /// Parses the space-delimited form of a `scope` parameter or claim.
    pub fn parse(value: &str) -> Result<Self, InvalidScope> {
        // RFC 6749 §3.3: tokens are separated by single spaces; tolerate none other.
        value.split(' ').map(Scope::parse).collect::<Result<_, _>>().map(Self)
    }

    /// Parses a list of individual scope tokens (settings, gRPC fields).
    pub fn from_tokens<S: AsRef<str>>(tokens: impl IntoIterator<Item = S>) -> Result<Self, InvalidScope> {
        tokens
            .into_iter()
            .map(|t| Scope::parse(t.as_ref()))
            .collect::<Result<_, _>>()
            .map(Self)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn intersection(&self, other: &ScopeSet) -> ScopeSet {
        Self(self.0.intersection(&other.0).cloned().collect())
    }

    pub fn union(&self, other: &ScopeSet) -> ScopeSet {
        Self(self.0.union(&other.0).cloned().collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }

    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(|s| s.0.clone()).collect()
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for scope in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(&scope.0)?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_space_delimited_scopes_in_stable_order() {
        let set = ScopeSet::parse("write read").expect("valid");
        assert_eq!(set.to_string(), "read write");
    }

    #[test]
    fn rejects_tokens_outside_the_rfc_alphabet_and_empty_tokens() {
        for bad in ["", "a  b", "quote\"d", "back\\slash", "tab\there", " lead"] {
            assert!(ScopeSet::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn intersection_narrows() {
        let granted = ScopeSet::parse("a b c").expect("valid");
        let asked = ScopeSet::parse("b d").expect("valid");
        assert_eq!(granted.intersection(&asked).to_string(), "b");
    }
}
