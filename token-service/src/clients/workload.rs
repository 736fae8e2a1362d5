//! A client bound to workloads: which issuer's tokens, for which subject, authenticate
//! it. Matching is exact; a prefix matches only when the operator wrote it as one, and
//! then only whole segments (a prefix ends in `:` or `/`).

use serde::{Deserialize, Serialize};

/// What issues a workload's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkloadKind {
    /// A cluster's service-account issuer: projected service-account tokens,
    /// `sub` = `system:serviceaccount:NAMESPACE:NAME`.
    Kubernetes,
    /// A SPIFFE trust domain's JWT-SVIDs: `sub` is a SPIFFE ID.
    Spiffe,
    /// Any other OpenID Provider issuing workload tokens (a CI system, a cloud).
    Oidc,
}

const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";

/// `system:serviceaccount:NAMESPACE:NAME`, as a namespace and a name (both non-empty,
/// neither holding a colon).
pub fn service_account(subject: &str) -> Option<(&str, &str)> {
    let rest = subject.strip_prefix(SERVICE_ACCOUNT_PREFIX)?;
    let (namespace, name) = rest.split_once(':')?;
    let fine = |part: &str| !part.is_empty() && !part.contains(':');
    (fine(namespace) && fine(name)).then_some((namespace, name))
}

/// At most this many workloads per client (several clusters, several namespaces).
pub const MAX_WORKLOADS: usize = 32;

/// One workload a client stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadBinding {
    /// The issuer, exactly as configured.
    pub issuer: String,
    /// The token's `sub`, or (with `prefix`) the start of it.
    pub subject: String,
    /// Written explicitly as a prefix (`--subject-prefix`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prefix: bool,
}

impl WorkloadBinding {
    pub fn matches(&self, issuer: &str, subject: &str) -> bool {
        self.issuer == issuer
            && if self.prefix {
                subject.len() > self.subject.len() && subject.starts_with(&self.subject)
            } else {
                subject == self.subject
            }
    }

    /// How operators see it: `ISSUER SUBJECT`, a prefix with `*` after it.
    pub fn display(&self) -> String {
        let star = if self.prefix { "*" } else { "" };
        format!("{} {}{star} ({})", self.issuer, self.subject, self.matching())
    }

    pub fn matching(&self) -> &'static str {
        if self.prefix { "prefix" } else { "exact" }
    }

    /// Whether `subject` is one a token of `kind` can carry (as a prefix, one ending
    /// where a segment does).
    pub fn check(&self, kind: WorkloadKind) -> Result<(), String> {
        let subject = self.subject.as_str();
        if subject.is_empty() || subject.len() > 2048 || subject.chars().any(char::is_whitespace) {
            return Err("the subject must be non-empty, at most 2048 characters, without spaces".into());
        }
        match (kind, self.prefix) {
            (WorkloadKind::Kubernetes, false) if service_account(subject).is_none() => {
                Err("a Kubernetes subject is system:serviceaccount:NAMESPACE:NAME".into())
            }
            (WorkloadKind::Kubernetes, true) if !kubernetes_prefix(subject) => Err(
                "a Kubernetes subject prefix is system:serviceaccount:NAMESPACE: (every service account of a namespace)"
                    .into(),
            ),
            (WorkloadKind::Spiffe, false) if !spiffe_id(subject) => {
                Err("a SPIFFE subject is a SPIFFE ID, spiffe://TRUST.DOMAIN/PATH".into())
            }
            (WorkloadKind::Spiffe, true) if !subject.ends_with('/') || !spiffe_id(subject.trim_end_matches('/')) => {
                Err("a SPIFFE subject prefix is a SPIFFE ID followed by /".into())
            }
            (WorkloadKind::Oidc, true) if !subject.ends_with([':', '/']) => {
                Err("a subject prefix must end in : or / (a whole segment)".into())
            }
            _ => Ok(()),
        }
    }
}

fn kubernetes_prefix(subject: &str) -> bool {
    subject
        .strip_prefix("system:serviceaccount:")
        .and_then(|rest| rest.strip_suffix(':'))
        .is_some_and(|namespace| !namespace.is_empty() && !namespace.contains(':'))
}

fn spiffe_id(subject: &str) -> bool {
    spiffe::SpiffeId::new(subject).is_ok_and(|id| id.to_string() == subject)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(subject: &str, prefix: bool) -> WorkloadBinding {
        WorkloadBinding {
            issuer: "https://k8s.example".into(),
            subject: subject.into(),
            prefix,
        }
    }

    #[test]
    fn exact_matches_only_itself_and_a_prefix_only_longer_subjects() {
        let exact = binding("system:serviceaccount:ns:agent", false);
        assert!(exact.matches("https://k8s.example", "system:serviceaccount:ns:agent"));
        assert!(!exact.matches("https://k8s.example", "system:serviceaccount:ns:agent-2"));
        assert!(!exact.matches("https://other.example", "system:serviceaccount:ns:agent"));
        let prefix = binding("system:serviceaccount:ns:", true);
        assert!(prefix.matches("https://k8s.example", "system:serviceaccount:ns:agent"));
        assert!(!prefix.matches("https://k8s.example", "system:serviceaccount:ns:"));
        assert!(!prefix.matches("https://k8s.example", "system:serviceaccount:ns2:agent"));
    }

    #[test]
    fn subjects_are_checked_for_the_issuer_kind() {
        use WorkloadKind::*;
        assert!(
            binding("system:serviceaccount:ns:agent", false)
                .check(Kubernetes)
                .is_ok()
        );
        assert!(binding("system:serviceaccount:ns", false).check(Kubernetes).is_err());
        assert!(binding("system:serviceaccount:ns:", true).check(Kubernetes).is_ok());
        assert!(binding("system:serviceaccount:n", true).check(Kubernetes).is_err());
        assert!(binding("spiffe://example.org/agent", false).check(Spiffe).is_ok());
        assert!(binding("spiffe://Example.org/agent", false).check(Spiffe).is_err());
        assert!(binding("spiffe://example.org/agents/", true).check(Spiffe).is_ok());
        assert!(binding("spiffe://example.org/agents", true).check(Spiffe).is_err());
        assert!(binding("repo:org/x:ref", false).check(Oidc).is_ok());
        assert!(binding("repo:org/x", true).check(Oidc).is_err());
    }
}
