//! The claims of a workload token whose signature verified, checked against its issuer's
//! rules. Every refusal names the rule, in the RFC alphabet, and echoes nothing.

use serde::Deserialize;

use super::issuer::TrustedIssuer;
use super::settings::WorkloadKind;
use crate::clients::workload::service_account;
use crate::error::OAuthError;

/// RFC 7519 §4.1.3: one audience or several (Kubernetes always sends an array).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn values(&self) -> Vec<&str> {
        match self {
            Self::One(aud) => vec![aud.as_str()],
            Self::Many(auds) => auds.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct WorkloadClaims {
    /// Optional in a JWT-SVID (matched by trust domain then).
    #[serde(default)]
    pub iss: Option<String>,
    pub sub: String,
    pub aud: Audience,
    pub exp: i64,
    #[serde(default)]
    pub nbf: Option<i64>,
    #[serde(default)]
    pub iat: Option<i64>,
    #[serde(default)]
    pub jti: Option<String>,
    /// A projected service-account token's binding (Kubernetes 1.30+ adds `node`).
    #[serde(default, rename = "kubernetes.io")]
    pub kubernetes: Option<KubernetesClaim>,
}

#[derive(Debug, Deserialize)]
pub struct KubernetesClaim {
    pub namespace: String,
    pub serviceaccount: Named,
    #[serde(default)]
    pub pod: Option<Named>,
}

#[derive(Debug, Deserialize)]
pub struct Named {
    pub name: String,
    #[serde(default)]
    pub uid: String,
}

/// Checks `claims` against `issuer`'s rules at `now`, with `leeway` seconds of skew.
pub fn check(issuer: &TrustedIssuer, claims: &WorkloadClaims, now: i64, leeway: i64) -> Result<(), OAuthError> {
    let refuse = |reason: &'static str| Err(OAuthError::InvalidClient(reason));
    // Saturating: a signed token with absurd times is refused, never overflows.
    if claims.exp.saturating_add(leeway) < now {
        return refuse("the workload token has expired");
    }
    if claims.nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
        return refuse("the workload token is not valid yet (nbf)");
    }
    if claims.iat.is_some_and(|iat| iat > now.saturating_add(leeway)) {
        return refuse("the workload token was issued in the future (iat)");
    }
    let max = issuer.max_lifetime_secs;
    let too_long = claims
        .iat
        .map_or(claims.exp.saturating_sub(now) > max.saturating_add(leeway), |iat| {
            iat < 0 || claims.exp.saturating_sub(iat) > max
        });
    if too_long {
        return refuse("the workload token lives longer than this issuer's max_lifetime");
    }
    let audiences = claims.aud.values();
    let ours = |aud: &&str| issuer.audiences.iter().any(|accepted| accepted == aud);
    if audiences.is_empty() || !audiences.iter().all(ours) {
        return refuse("the workload token's aud must name this server, and nothing else");
    }
    if claims.sub.is_empty() || claims.sub.len() > 2048 {
        return refuse("the workload token's sub is empty or too long");
    }
    match issuer.kind {
        WorkloadKind::Kubernetes => kubernetes(issuer, claims),
        WorkloadKind::Spiffe => spiffe(issuer, &claims.sub),
        WorkloadKind::Oidc => Ok(()),
    }
}

fn kubernetes(issuer: &TrustedIssuer, claims: &WorkloadClaims) -> Result<(), OAuthError> {
    let Some((namespace, name)) = service_account(&claims.sub) else {
        return Err(OAuthError::InvalidClient(
            "the workload token's sub is not system:serviceaccount:NAMESPACE:NAME",
        ));
    };
    if let Some(bound) = &claims.kubernetes
        && (bound.namespace != namespace || bound.serviceaccount.name != name)
    {
        return Err(OAuthError::InvalidClient(
            "the workload token's kubernetes.io claim names another service account than its sub",
        ));
    }
    let pod_bound = claims
        .kubernetes
        .as_ref()
        .and_then(|bound| bound.pod.as_ref())
        .is_some_and(|pod| !pod.name.is_empty());
    if issuer.require_pod_binding && !pod_bound {
        return Err(OAuthError::InvalidClient(
            "this issuer accepts only pod-bound tokens, and the workload token names no pod",
        ));
    }
    Ok(())
}

fn spiffe(issuer: &TrustedIssuer, subject: &str) -> Result<(), OAuthError> {
    let Ok(id) = spiffe::SpiffeId::new(subject) else {
        return Err(OAuthError::InvalidClient("the workload token's sub is not a SPIFFE ID"));
    };
    // SPIFFE-ID §2.1: a trust domain is lowercase, so the parsed one compares as is.
    if id.to_string() != subject {
        return Err(OAuthError::InvalidClient(
            "the workload token's sub is not a SPIFFE ID in canonical form",
        ));
    }
    if issuer
        .trust_domain
        .as_deref()
        .is_some_and(|domain| id.trust_domain_name() != domain)
    {
        return Err(OAuthError::InvalidClient(
            "the workload token's SPIFFE ID is of another trust domain than its issuer's",
        ));
    }
    Ok(())
}
