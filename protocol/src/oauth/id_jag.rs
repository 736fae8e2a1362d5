//! MCP enterprise-managed authorization (draft-ietf-oauth-identity-assertion-authz-grant,
//! "ID-JAG"): the enterprise identity providers whose Identity Assertion JWT
//! Authorization Grants the token endpoint accepts as a jwt-bearer grant, and each one's
//! policy. token-service enforces it; identity-service's discovery document says the
//! profile is supported when any provider is configured.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::InvalidSetting;

/// draft -04 §7.1: the `authorization_grant_profiles_supported` value of this profile.
pub const GRANT_PROFILE: &str = "urn:ietf:params:oauth:grant-profile:id-jag";
/// draft -04 §3: the ID-JAG's header `typ`.
pub const TYP: &str = "oauth-id-jag+jwt";

/// `token_endpoint.id_jag`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdJagSettings {
    /// The enterprise identity providers trusted to issue ID-JAGs for our issuer.
    #[serde(default)]
    pub issuers: Vec<IdJagIssuerSettings>,
    /// Longest `exp - iat` of an ID-JAG accepted (the draft expects minutes).
    #[serde(default = "five_minutes", with = "humantime_serde")]
    pub max_lifetime: Duration,
}

impl Default for IdJagSettings {
    fn default() -> Self {
        Self {
            issuers: Vec::new(),
            max_lifetime: five_minutes(),
        }
    }
}

/// One enterprise identity provider (Okta, Entra, …) as issuer of ID-JAGs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdJagIssuerSettings {
    /// Exactly the `iss` its ID-JAGs carry. identity-service must know it as one of
    /// `humans.identity_providers` (same `issuer`): a person arriving by ID-JAG is the
    /// human who signs in there in a browser.
    pub issuer: String,
    /// Where its signing keys are published.
    pub jwks_uri: String,
    /// PEM CA certificates to trust for `jwks_uri` besides the system's.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The clients (`client_id`) that may present its ID-JAGs. At least one: the
    /// extension is for confidential clients the enterprise chose.
    pub allowed_clients: Vec<String>,
    /// The most a token from its ID-JAGs may carry; empty: whatever else allows.
    #[serde(default)]
    pub max_scopes: Vec<String>,
    /// Whether a person it names must have signed in here before, or is a new human on
    /// first use.
    #[serde(default)]
    pub humans: HumanProvisioning,
    /// Issue a refresh token too. Off by default: the extension has the client go back
    /// to the identity provider for a new ID-JAG, so the enterprise decides again.
    #[serde(default)]
    pub refresh_tokens: bool,
}

/// Who a provider's ID-JAG may name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HumanProvisioning {
    /// A person is a human here from their first ID-JAG on, as from their first sign-in.
    #[default]
    Create,
    /// Only someone who signed in here before.
    Existing,
}

impl IdJagSettings {
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        if self.max_lifetime.is_zero() {
            return Err(InvalidSetting::invalid(
                "token_endpoint.id_jag.max_lifetime",
                "must be more than zero",
            ));
        }
        for (i, entry) in self.issuers.iter().enumerate() {
            let key = |field: &str| format!("token_endpoint.id_jag.issuers[{i}].{field}");
            if self.issuers[..i].iter().any(|e| e.issuer == entry.issuer) {
                return Err(InvalidSetting::invalid(key("issuer"), "is configured twice"));
            }
            for (field, value) in [("issuer", &entry.issuer), ("jwks_uri", &entry.jwks_uri)] {
                if !url::Url::parse(value).is_ok_and(|u| u.has_host()) {
                    return Err(InvalidSetting::invalid(key(field), "must be an absolute URL"));
                }
            }
            if entry.allowed_clients.is_empty() {
                return Err(InvalidSetting::invalid(
                    key("allowed_clients"),
                    "name at least one client that may present this provider's ID-JAGs",
                ));
            }
            crate::scope::ScopeSet::from_tokens(&entry.max_scopes)
                .map_err(|e| InvalidSetting::invalid(key("max_scopes"), e.to_string()))?;
        }
        Ok(())
    }

    /// The provider whose `iss` this is, if configured.
    pub fn issuer(&self, iss: &str) -> Option<&IdJagIssuerSettings> {
        self.issuers.iter().find(|entry| entry.issuer == iss)
    }
}

fn five_minutes() -> Duration {
    Duration::from_secs(300)
}
