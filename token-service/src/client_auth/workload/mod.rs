//! Workload identity federation: a client authenticates with the token its workload
//! already has (a Kubernetes projected service-account token, a SPIFFE JWT-SVID, another
//! OpenID Provider's workload token) sent as an RFC 7523 §2.2 `client_assertion`, and no
//! secret exists anywhere.
//!
//! - [`settings`]: the trusted issuers (`workload_identity.issuers`);
//! - [`issuer`]: one issuer's keys, from its `jwks_uri` or OIDC discovery;
//! - [`claims`]: the rules a token's claims must meet, per kind of issuer.
//!
//! A token is verified before any client is read: its unverified `iss` (or, for a
//! JWT-SVID without one, its SPIFFE ID's trust domain) only chooses whose keys verify it.

pub mod claims;
pub mod issuer;
pub mod settings;

use std::collections::HashMap;
use std::sync::Arc;

use protocol::jose::jws::{self, JwsError};
use serde::Deserialize;
use serde_json::Value;
use shared::settings::SettingsError;
use shared::store::replay::ReplayCache;

use self::claims::WorkloadClaims;
use self::issuer::TrustedIssuer;
use self::settings::WorkloadIdentitySettings;
use crate::error::OAuthError;

/// Who a verified workload token says the workload is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedWorkload {
    /// The issuer as configured.
    pub issuer: String,
    pub subject: String,
}

/// The trusted issuers, by `iss` and (SPIFFE) by trust domain.
#[derive(Debug, Default)]
pub struct WorkloadIssuers {
    by_issuer: HashMap<String, Arc<TrustedIssuer>>,
    by_trust_domain: HashMap<String, Arc<TrustedIssuer>>,
    leeway_secs: i64,
    /// `jti`s of issuers configured `single_use_jti`.
    replay: Option<Arc<dyn ReplayCache>>,
}

#[derive(Debug, Deserialize)]
struct Unverified {
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    sub: Option<String>,
}

impl WorkloadIssuers {
    /// The issuers of `settings`; `default_audiences` are ours (the issuer of our tokens
    /// and the token endpoint's URLs).
    pub fn new(
        settings: &WorkloadIdentitySettings,
        default_audiences: &[String],
        leeway_secs: u64,
        replay: Arc<dyn ReplayCache>,
    ) -> Result<Self, SettingsError> {
        let mut issuers = Self {
            leeway_secs: i64::try_from(leeway_secs).unwrap_or(i64::MAX),
            replay: Some(replay),
            ..Self::default()
        };
        for (i, entry) in settings.issuers.iter().enumerate() {
            let key = format!("workload_identity.issuers[{i}]");
            let issuer = Arc::new(TrustedIssuer::new(&key, entry, &settings.keys, default_audiences)?);
            if let Some(domain) = &issuer.trust_domain
                && issuers.by_trust_domain.insert(domain.clone(), issuer.clone()).is_some()
            {
                return Err(SettingsError::invalid(
                    format!("{key}.trust_domain"),
                    "two issuers name this trust domain",
                ));
            }
            if default_audiences.contains(&entry.issuer) {
                return Err(SettingsError::invalid(
                    format!("{key}.issuer"),
                    "is this server itself; a workload issuer is another party",
                ));
            }
            if issuers.by_issuer.insert(entry.issuer.clone(), issuer).is_some() {
                return Err(SettingsError::invalid(format!("{key}.issuer"), "is configured twice"));
            }
        }
        Ok(issuers)
    }

    /// The issuer configured as `issuer`, if it is one.
    pub fn get(&self, issuer: &str) -> Option<&TrustedIssuer> {
        self.by_issuer.get(issuer).map(Arc::as_ref)
    }

    /// Whose token `assertion` claims to be, unverified: an issuer we trust, or none.
    pub fn claimed_by(&self, assertion: &str) -> Option<&TrustedIssuer> {
        if self.by_issuer.is_empty() {
            return None;
        }
        let unverified: Unverified = jsonwebtoken::dangerous::insecure_decode_claims(assertion).ok()?;
        match (unverified.iss, unverified.sub) {
            (Some(iss), _) => self.get(&iss),
            // A JWT-SVID need not carry `iss`: its SPIFFE ID names the trust domain.
            (None, Some(sub)) => {
                let id = spiffe::SpiffeId::new(&sub).ok()?;
                self.by_trust_domain.get(id.trust_domain_name()).map(Arc::as_ref)
            }
            (None, None) => None,
        }
    }

    /// Verifies `assertion` as a token of `issuer`: its header, one signature check
    /// with the issuer's key, then its claims; a `jti` once, where the issuer says so.
    pub async fn verify(
        &self,
        issuer: &TrustedIssuer,
        assertion: &str,
        now: i64,
    ) -> Result<VerifiedWorkload, OAuthError> {
        let (alg, kid) = header(assertion)?;
        let key = issuer.key(kid.as_deref()).await?;
        if !key.accepts(alg) {
            return Err(OAuthError::InvalidClient(
                "the workload token's alg does not fit its issuer's key",
            ));
        }
        let claims: WorkloadClaims = jws::verify(assertion, &key.key, alg).map_err(|e| {
            OAuthError::InvalidClient(match e {
                JwsError::BadSignature => "the workload token's signature is invalid",
                _ => "the workload token lacks sub, aud or exp, or is malformed",
            })
        })?;
        if claims.iss.as_deref().is_some_and(|iss| iss != issuer.issuer) {
            return Err(OAuthError::InvalidClient(
                "the workload token's iss is not its issuer's",
            ));
        }
        claims::check(issuer, &claims, now, self.leeway_secs)?;
        if issuer.single_use_jti {
            self.first_use(issuer, &claims).await?;
        }
        Ok(VerifiedWorkload {
            issuer: issuer.issuer.clone(),
            subject: claims.sub,
        })
    }

    async fn first_use(&self, issuer: &TrustedIssuer, claims: &WorkloadClaims) -> Result<(), OAuthError> {
        let Some(jti) = claims.jti.as_deref().filter(|jti| !jti.is_empty() && jti.len() <= 256) else {
            return Err(OAuthError::InvalidClient(
                "this issuer's workload tokens are single use, and this one has no usable jti",
            ));
        };
        let Some(replay) = &self.replay else {
            return Ok(());
        };
        let until = claims.exp.saturating_add(self.leeway_secs);
        if !replay
            .first_use(&format!("workload:{}", issuer.issuer), jti, until)
            .await?
        {
            return Err(OAuthError::InvalidClient("this workload token was already used"));
        }
        Ok(())
    }
}

/// The token's `alg` (asymmetric only) and `kid`. RFC 7515 §4.1.11: no extension is
/// implemented, so any `crit` is refused; JWT-SVID §2: `typ`, if any, is JWT or JOSE.
fn header(assertion: &str) -> Result<(protocol::jose::alg::JwsAlg, Option<String>), OAuthError> {
    let header = jws::protected_header(assertion)
        .map_err(|_| OAuthError::InvalidClient("the workload token is not a signed JWT"))?;
    if header.contains_key("crit") {
        return Err(OAuthError::InvalidClient(
            "the workload token names a critical extension this server does not implement",
        ));
    }
    let named = header.get("alg").and_then(Value::as_str).unwrap_or("");
    if named == "none" {
        return Err(OAuthError::InvalidClient(
            "the workload token is not a signed JWT (alg none)",
        ));
    }
    if named.starts_with("HS") {
        return Err(OAuthError::InvalidClient(
            "the workload token is HMAC-signed; only asymmetric algorithms are accepted",
        ));
    }
    let alg = jws::header_alg(&header).ok_or(OAuthError::InvalidClient(
        "the workload token's alg is not an asymmetric algorithm this server verifies",
    ))?;
    if let Some(typ) = header.get("typ") {
        let typ = typ.as_str().unwrap_or("");
        if !typ.eq_ignore_ascii_case("JWT") && !typ.eq_ignore_ascii_case("JOSE") {
            return Err(OAuthError::InvalidClient(
                "the workload token's typ must be JWT or JOSE",
            ));
        }
    }
    let kid = header.get("kid").and_then(Value::as_str).map(str::to_owned);
    Ok((alg, kid))
}
