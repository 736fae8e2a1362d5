//! `humans`: how people sign in, by emailed code and at their company's identity
//! providers (OpenID Connect).

use std::path::PathBuf;

use protocol::oauth::id_jag::IdJagSettings;
use serde::{Deserialize, Serialize};
use shared::settings::SettingsError;

/// How humans sign in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HumanSettings {
    /// Upstream OpenID Providers offered on the sign-in pages.
    #[serde(default)]
    pub identity_providers: Vec<IdentityProviderSettings>,
    /// Offer the emailed 6-digit code too. With one provider and codes off, sign-in goes
    /// straight to the provider.
    #[serde(default = "yes")]
    pub email_codes: bool,
}

impl HumanSettings {
    /// Each enterprise provider whose ID-JAGs the token endpoint accepts is one of ours
    /// (same `issuer`): the person it names is the human who signs in there.
    pub fn check_id_jag_issuers(&self, id_jag: &IdJagSettings) -> Result<(), SettingsError> {
        for (i, entry) in id_jag.issuers.iter().enumerate() {
            if !self.identity_providers.iter().any(|p| p.issuer == entry.issuer) {
                return Err(SettingsError::invalid(
                    format!("token_endpoint.id_jag.issuers[{i}].issuer"),
                    format!("`{}` is none of humans.identity_providers' issuers", entry.issuer),
                ));
            }
        }
        Ok(())
    }
}

impl Default for HumanSettings {
    fn default() -> Self {
        Self {
            identity_providers: Vec::new(),
            email_codes: true,
        }
    }
}

/// One upstream OpenID Provider, as the relying party we are registered as there.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdentityProviderSettings {
    /// Our name for it, in URLs and in a human's identity: `[a-z0-9-]`, stable.
    pub id: String,
    /// What the sign-in button says.
    pub display_name: String,
    /// Its issuer; its endpoints and keys come from discovery there.
    pub issuer: String,
    pub client_id: String,
    /// The client secret, in a file (`client_secret_basic`).
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    /// Or a private key (`private_key_jwt`, RFC 7523 §2.2), registered at the provider by
    /// its public half; instead of a secret.
    #[serde(default)]
    pub private_key_jwt: Option<PrivateKeyJwtSettings>,
    /// Scopes asked for; `openid` is always among them.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// Only addresses of these domains sign in (empty: any).
    #[serde(default)]
    pub allowed_email_domains: Vec<String>,
    #[serde(default)]
    pub claims_mapping: ClaimsMapping,
    /// A verified address from this provider is the same human as whoever used that
    /// address before (by emailed code or another provider). Off: a person here is
    /// (provider, sub) alone, and no account is ever linked silently.
    #[serde(default)]
    pub link_by_verified_email: bool,
    /// PEM CA certificates to trust for this provider besides the system's.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// The key a client assertion to the provider is signed with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PrivateKeyJwtSettings {
    /// A PKCS#8 private key in PEM (P-256 for ES256, Ed25519 for EdDSA).
    pub key_file: PathBuf,
    /// `ES256` (the default) or `EdDSA`.
    #[serde(default = "es256")]
    pub alg: String,
    /// The `kid` the provider knows the public key by, if it asks for one.
    #[serde(default)]
    pub kid: String,
}

fn es256() -> String {
    "ES256".into()
}

/// Which ID token claims say what.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClaimsMapping {
    /// The claim holding the person's address.
    pub email: String,
    /// The claim saying the provider verified it (a boolean).
    pub email_verified: String,
}

impl Default for ClaimsMapping {
    fn default() -> Self {
        Self {
            email: "email".into(),
            email_verified: "email_verified".into(),
        }
    }
}

fn yes() -> bool {
    true
}

fn default_scopes() -> Vec<String> {
    ["openid", "email", "profile"].map(str::to_owned).to_vec()
}
