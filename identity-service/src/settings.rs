use std::time::Duration;

use serde::{Deserialize, Serialize};
use shared::serve::CommonSettings;

/// The name this service's internal certificate is issued to.
pub const SERVICE_NAME: &str = "identity-service";

use crate::authorize::AuthorizeSettings;
use crate::claim::ClaimSettings;
use crate::mail::MailSettings;
use crate::providers::{ProviderKeySettings, ProviderSettings};
use crate::ratelimit::RateLimitSettings;
use protocol::oauth::{ProtectedResource, TokenEndpointSettings};
use protocol::scope::ScopeSet;
use shared::settings::{PeerSettings, Profile, SecretSetting, ServiceSettings, SettingsError};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// Profile, ports, store, internal TLS, drain, telemetry and metrics: the same keys
    /// in every service.
    #[serde(flatten)]
    pub common: CommonSettings,
    /// Public base URL of the whole deployment (the ingress). It is the `issuer`: no
    /// trailing slash, and every token's `iss` equals it exactly (RFC 8414 §2).
    pub public_base_url: String,
    /// Which address a request came from: the peer, or what trusted proxies added.
    #[serde(default)]
    pub client_address: shared::client_address::ClientAddressSettings,
    /// jwks-service's internal gRPC port, for the signing key stream.
    pub jwks: PeerSettings,
    /// token-service's internal gRPC port: who an OAuth client is (`ClientDirectory`),
    /// for the authorization endpoint.
    pub token: PeerSettings,
    /// The authorization endpoint and the human's sign-in.
    #[serde(default)]
    pub authorize: AuthorizeSettings,
    /// Pepper for keyed hashes of claim tokens, codes and human ids, and the key the
    /// session cookie is sealed under; required in production.
    pub hash_pepper: SecretSetting,
    pub assertion: AssertionSettings,
    pub registration: RegistrationSettings,
    /// Advertised as `scopes_supported`; every scope granted must be listed here.
    pub scopes_supported: Vec<String>,
    pub claim: ClaimSettings,
    pub mail: MailSettings,
    /// Resources whose RFC 9728 metadata we publish.
    #[serde(default)]
    pub protected_resources: Vec<ProtectedResource>,
    /// Agent providers whose ID-JAGs and security events we accept.
    #[serde(default)]
    pub providers: Vec<ProviderSettings>,
    pub provider_keys: ProviderKeySettings,
    /// How humans sign in: emailed codes, and the company's identity providers.
    #[serde(default)]
    pub humans: crate::upstream::settings::HumanSettings,
    pub rate_limits: RateLimitSettings,
    /// What token-service's token endpoint accepts, for the discovery document: give
    /// both services the same section.
    #[serde(default)]
    pub token_endpoint: TokenEndpointSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AssertionSettings {
    /// Lifetime of the identity assertions we issue.
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
    /// Longest `exp - iat` accepted at validation, whoever signed it.
    #[serde(with = "humantime_serde")]
    pub max_lifetime: Duration,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`.
    #[serde(with = "humantime_serde")]
    pub leeway: Duration,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegistrationSettings {
    pub anonymous_enabled: bool,
    pub verified_email_enabled: bool,
    /// ID-JAG registrations; needs at least one entry in `providers`.
    pub id_jag_enabled: bool,
    /// How long a new registration can be claimed; an unclaimed registration expires then.
    #[serde(with = "humantime_serde")]
    pub claim_window: Duration,
    /// How long an expired, unclaimed registration is kept before the store drops it.
    #[serde(with = "humantime_serde")]
    pub retention_after_expiry: Duration,
    pub pre_claim_scopes: Vec<String>,
    pub post_claim_scopes: Vec<String>,
    /// Every registration must carry a DPoP proof (RFC 9449), and its assertions are
    /// bound to that key: exchanged only with a proof of it.
    #[serde(default)]
    pub require_dpop: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            common: CommonSettings::allowing(&["token-service", "agentctl"]),
            public_base_url: "http://127.0.0.1:8080".into(),
            client_address: Default::default(),
            jwks: PeerSettings::new("http://jwks-service:50051"),
            token: PeerSettings::new("http://token-service:50051"),
            authorize: AuthorizeSettings::default(),
            hash_pepper: SecretSetting::default(),
            assertion: AssertionSettings {
                ttl: Duration::from_secs(3600),
                max_lifetime: Duration::from_secs(3600),
                leeway: Duration::from_secs(60),
            },
            registration: RegistrationSettings {
                anonymous_enabled: true,
                verified_email_enabled: true,
                id_jag_enabled: true,
                claim_window: Duration::from_secs(24 * 3600),
                retention_after_expiry: Duration::from_secs(7 * 24 * 3600),
                pre_claim_scopes: vec!["agent:read".into()],
                post_claim_scopes: vec!["agent:read".into(), "agent:write".into()],
                require_dpop: false,
            },
            scopes_supported: vec!["agent:read".into(), "agent:write".into()],
            claim: ClaimSettings::default(),
            mail: MailSettings::default(),
            providers: Vec::new(),
            protected_resources: Vec::new(),
            provider_keys: ProviderKeySettings::default(),
            humans: Default::default(),
            rate_limits: RateLimitSettings::default(),
            token_endpoint: TokenEndpointSettings::default(),
        }
    }
}

impl ServiceSettings for Settings {
    fn validate(&self) -> Result<(), SettingsError> {
        validate_issuer(&self.public_base_url, self.common.profile)?;
        self.jwks.validate("jwks")?;
        self.token.validate("token")?;
        self.authorize.validate()?;
        self.hash_pepper.validate("hash_pepper", self.common.profile)?;
        shared::client_address::refuse_replaced(
            "rate_limits.trust_forwarded_for",
            self.rate_limits.trust_forwarded_for.is_some(),
        )?;
        if self.assertion.ttl.is_zero() || self.assertion.ttl > self.assertion.max_lifetime {
            return Err(SettingsError::invalid(
                "assertion.ttl",
                "must be positive and at most assertion.max_lifetime",
            ));
        }
        if self.claim.link_ttl.is_zero() || self.claim.otp_ttl.is_zero() || self.claim.max_otp_failures == 0 {
            return Err(SettingsError::invalid(
                "claim",
                "link_ttl, otp_ttl and max_otp_failures must be positive",
            ));
        }
        if self.registration.claim_window.is_zero() {
            return Err(SettingsError::invalid("registration.claim_window", "must be positive"));
        }
        protocol::oauth::validate_resources(&self.protected_resources)?;
        self.token_endpoint.validate()?;
        self.humans.check_id_jag_issuers(&self.token_endpoint.id_jag)?;
        if self.registration.require_dpop && !self.token_endpoint.dpop.enabled {
            return Err(SettingsError::invalid(
                "registration.require_dpop",
                "needs token_endpoint.dpop.enabled",
            ));
        }
        let supported = scopes("scopes_supported", &self.scopes_supported)?;
        for (key, list) in [
            ("registration.pre_claim_scopes", &self.registration.pre_claim_scopes),
            ("registration.post_claim_scopes", &self.registration.post_claim_scopes),
        ] {
            if !scopes(key, list)?.is_subset(&supported) {
                return Err(SettingsError::invalid(key, "every scope must be in scopes_supported"));
            }
        }
        self.common.shutdown.validate()?;
        self.common.telemetry.validate()?;
        // Last, so the rules above report first; production refuses plaintext gRPC.
        self.common.internal_tls.validate(self.common.profile)?;
        Ok(())
    }
}

/// Parses a scope list setting, naming it on error.
pub fn scopes(key: &str, list: &[String]) -> Result<ScopeSet, SettingsError> {
    ScopeSet::from_tokens(list).map_err(|e| SettingsError::invalid(key, e.to_string()))
}

fn validate_issuer(base: &str, profile: Profile) -> Result<(), SettingsError> {
    let bad = |reason: &str| SettingsError::invalid("public_base_url", format!("`{base}` {reason}"));
    let url = url::Url::parse(base).map_err(|e| bad(&format!("is not a URL: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if profile == Profile::Development || is_loopback(&url) => {}
        "http" => return Err(bad("must use https in production (RFC 8414 §2)")),
        _ => return Err(bad("must be an http(s) URL")),
    }
    if base.ends_with('/') || url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must have no trailing slash, query or fragment"));
    }
    Ok(())
}

fn is_loopback(url: &url::Url) -> bool {
    matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev() -> Settings {
        Settings {
            common: shared::serve::CommonSettings {
                profile: Profile::Development,
                ..Settings::default().common
            },
            ..Settings::default()
        }
    }

    #[test]
    fn defaults_are_valid_for_development() {
        dev().validate().expect("valid");
    }

    #[test]
    fn defaults_survive_the_layered_loader() {
        let loaded = Settings::load_over(dev(), shared::settings::Sources::default()).expect("loads");
        assert!(loaded.providers.is_empty());
        assert_eq!(loaded.claim.max_otp_failures, 5);
    }

    #[test]
    fn the_removed_forwarded_for_switch_is_refused_with_its_replacement() {
        let env = |pairs: &[(&str, &str)]| shared::settings::Sources {
            file: None,
            env: pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        };
        let err = Settings::load_over(dev(), env(&[("AGENTAUTH__RATE_LIMITS__TRUST_FORWARDED_FOR", "true")]))
            .expect_err("an old deployment must not silently count every client as the ingress");
        let text = err.to_string();
        assert!(
            text.contains("rate_limits.trust_forwarded_for") && text.contains("client_address.trusted_proxy_hops"),
            "{text}"
        );
        let loaded = Settings::load_over(dev(), env(&[("AGENTAUTH__CLIENT_ADDRESS__TRUSTED_PROXY_HOPS", "1")]))
            .expect("the replacement loads");
        assert_eq!(loaded.client_address.trusted_proxy_hops, 1);
    }

    #[test]
    fn production_without_a_pepper_names_the_setting() {
        let err = Settings::default().validate().expect_err("must refuse");
        assert!(err.to_string().contains("hash_pepper"), "{err}");
    }

    #[test]
    fn issuer_with_trailing_slash_or_plain_http_in_production_is_refused() {
        let mut s = dev();
        s.public_base_url = "https://auth.example.com/".into();
        assert!(s.validate().expect_err("slash").to_string().contains("public_base_url"));
        let mut s = Settings::default();
        s.hash_pepper.value = Some("pepper".into());
        s.public_base_url = "http://auth.example.com".into();
        assert!(s.validate().expect_err("http").to_string().contains("https"));
    }

    #[test]
    fn production_refuses_plaintext_grpc() {
        let mut s = Settings::default();
        s.hash_pepper.value = Some("pepper".into());
        let err = s.validate().expect_err("must refuse");
        assert!(err.to_string().contains("internal_tls.dir"), "{err}");
    }

    #[test]
    fn scopes_outside_scopes_supported_are_refused() {
        let mut s = dev();
        s.registration.post_claim_scopes.push("admin".into());
        let err = s.validate().expect_err("must refuse");
        assert!(err.to_string().contains("registration.post_claim_scopes"), "{err}");
    }
}
