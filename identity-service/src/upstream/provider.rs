//! One upstream provider: its discovery document, keys, token endpoint and UserInfo.

use serde::Deserialize;
use shared::fetch::{Destinations, Fetcher};
use shared::keys::discovery::Discovery;
use shared::keys::remote::{RemoteKeySettings, RemoteKeys, check_url};
use shared::settings::SettingsError;

use super::settings::IdentityProviderSettings;
use super::{ProviderMetadata, UpstreamError, UpstreamIdentity, id_token};

/// One provider and what we need to talk to it.
#[derive(Debug)]
pub struct UpstreamProvider {
    pub settings: IdentityProviderSettings,
    client_secret: Option<String>,
    /// `private_key_jwt` instead of the secret.
    signer: Option<protocol::jose::SigningKey>,
    pub(super) keys: RemoteKeys,
    discovery: Discovery<ProviderMetadata>,
}

/// A token endpoint's answer is a few KiB.
const MAX_TOKEN_RESPONSE: usize = 64 * 1024;

#[derive(Debug, Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
    access_token: Option<String>,
    error: Option<String>,
}

impl UpstreamProvider {
    pub(super) fn new(
        key: &str,
        settings: &IdentityProviderSettings,
        keys: &RemoteKeySettings,
    ) -> Result<Self, SettingsError> {
        let invalid = |field: &str, reason: String| SettingsError::invalid(format!("{key}.{field}"), reason);
        let fine_id = !settings.id.is_empty()
            && settings.id.len() <= 32
            && settings
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !fine_id {
            return Err(invalid("id", "must be 1 to 32 of a-z, 0-9 and -".into()));
        }
        check_url(&settings.issuer, Destinations::Configured).map_err(|reason| invalid("issuer", reason))?;
        if settings.client_id.is_empty() {
            return Err(invalid("client_id", "must not be empty".into()));
        }
        let client_secret = settings
            .client_secret_file
            .as_ref()
            .map(|path| {
                let secret = shared::secrets::read_secret(path)
                    .map_err(|e| invalid("client_secret_file", format!("{}: {e}", path.display())))?;
                String::from_utf8(secret.expose().to_vec())
                    .map_err(|_| invalid("client_secret_file", "must be UTF-8 text".into()))
            })
            .transpose()?;
        let signer = signer(key, settings)?;
        if signer.is_some() && client_secret.is_some() {
            return Err(invalid(
                "private_key_jwt",
                "give client_secret_file or private_key_jwt, not both".into(),
            ));
        }
        let roots = settings
            .ca_file
            .as_ref()
            .map(|path| std::fs::read(path).map_err(|e| invalid("ca_file", format!("{}: {e}", path.display()))))
            .transpose()?;
        let fetcher = Fetcher::trusting(keys.fetch_timeout, Destinations::Configured, roots.as_deref())
            .map_err(|reason| invalid("ca_file", reason))?;
        Ok(Self {
            settings: settings.clone(),
            client_secret,
            signer,
            keys: RemoteKeys::with_fetcher(keys, fetcher)?,
            discovery: Discovery::new(&settings.issuer, keys.refetch_cooldown),
        })
    }

    pub(crate) async fn metadata(&self) -> Result<ProviderMetadata, UpstreamError> {
        self.discovery
            .get(self.keys.fetcher())
            .await
            .map_err(UpstreamError::Unavailable)
    }

    /// The code, redeemed with PKCE's verifier: the ID token and the access token.
    pub(super) async fn redeem(
        &self,
        metadata: &ProviderMetadata,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<(String, Option<String>), UpstreamError> {
        let url = check_url(&metadata.token_endpoint, Destinations::Configured).map_err(UpstreamError::Unavailable)?;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
            ("client_id", self.settings.client_id.as_str()),
        ];
        // RFC 6749 §2.3.1: both halves form-urlencoded before Basic.
        let encode = |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
        let credentials = self
            .client_secret
            .as_deref()
            .map(|secret| (encode(&self.settings.client_id), encode(secret)));
        let basic = credentials.as_ref().map(|(id, secret)| (id.as_str(), secret.as_str()));
        let assertion = self.client_assertion(url.as_str())?;
        let mut form = form.to_vec();
        if let Some(assertion) = &assertion {
            form.push(("client_assertion_type", protocol::oauth::CLIENT_ASSERTION_JWT_BEARER));
            form.push(("client_assertion", assertion));
        }
        let (status, body) = self
            .keys
            .fetcher()
            .post_form(&url, &form, basic, MAX_TOKEN_RESPONSE)
            .await
            .map_err(UpstreamError::Unavailable)?;
        let answer: TokenResponse = serde_json::from_slice(&body)
            .map_err(|_| UpstreamError::Unavailable(format!("the token endpoint answered {status}, not JSON")))?;
        if let Some(error) = answer.error {
            tracing::info!(provider = %self.settings.id, %error, "upstream token endpoint refused the code");
            return Err(UpstreamError::CodeRefused(
                if error == "invalid_grant" {
                    "the code is not valid (used, expired, or another's)"
                } else {
                    "the request was refused"
                }
                .into(),
            ));
        }
        let id_token = answer
            .id_token
            .ok_or(UpstreamError::BadIdToken("the token endpoint gave no ID token"))?;
        Ok((id_token, answer.access_token))
    }

    /// RFC 7523 §2.2 / OIDC Core §9 `private_key_jwt`: `iss` = `sub` = our client id,
    /// `aud` the token endpoint, a minute's life, a fresh `jti`.
    fn client_assertion(&self, token_endpoint: &str) -> Result<Option<String>, UpstreamError> {
        let Some(signer) = &self.signer else {
            return Ok(None);
        };
        let now = shared::time::unix_now();
        let claims = serde_json::json!({
            "iss": self.settings.client_id, "sub": self.settings.client_id, "aud": token_endpoint,
            "iat": now, "exp": now + 60, "jti": protocol::secrets::random_token(16),
        });
        signer
            .sign("JWT", &claims)
            .map(Some)
            .map_err(|e| UpstreamError::Unavailable(format!("cannot sign the client assertion: {e}")))
    }

    /// OpenID Connect Core §5.3: many providers put the address in the UserInfo
    /// response, not the ID token, under the code flow. Asked only when the ID token
    /// lacks it; its `sub` must be the ID token's (§5.3.2), and it adds nothing else.
    pub(super) async fn add_userinfo(
        &self,
        metadata: &ProviderMetadata,
        claims: &mut id_token::IdClaims,
        access_token: Option<&str>,
    ) -> Result<(), UpstreamError> {
        let mapping = &self.settings.claims_mapping;
        let (Some(endpoint), Some(token)) = (&metadata.userinfo_endpoint, access_token) else {
            return Ok(());
        };
        if claims.all.get(&mapping.email).is_some() {
            return Ok(());
        }
        let url = check_url(endpoint, Destinations::Configured).map_err(UpstreamError::Unavailable)?;
        let fetched = self
            .keys
            .fetcher()
            .get_as(&url, &["application/json"], MAX_TOKEN_RESPONSE, Some(token))
            .await
            .map_err(UpstreamError::Unavailable)?;
        let info: serde_json::Value = serde_json::from_slice(&fetched.body)
            .map_err(|_| UpstreamError::Unavailable("the UserInfo response is not JSON".into()))?;
        if info["sub"].as_str() != Some(claims.subject.as_str()) {
            return Err(UpstreamError::BadIdToken("the UserInfo response is about someone else"));
        }
        for name in [&mapping.email, &mapping.email_verified] {
            if let Some(value) = info.get(name) {
                claims.all[name.as_str()] = value.clone();
            }
        }
        Ok(())
    }

    /// The person the validated claims describe, under this provider's rules.
    pub(super) fn identity(&self, claims: id_token::IdClaims) -> Result<UpstreamIdentity, UpstreamError> {
        let mapping = &self.settings.claims_mapping;
        let email = claims.all[&mapping.email].as_str().filter(|e| !e.is_empty());
        let email = email.ok_or(UpstreamError::NoEmail)?.to_owned();
        let verified = match &claims.all[&mapping.email_verified] {
            serde_json::Value::Bool(verified) => *verified,
            serde_json::Value::String(text) => text == "true",
            _ => false,
        };
        self.admits(Some(&email), verified)?;
        Ok(UpstreamIdentity {
            provider: self.settings.id.clone(),
            subject: claims.subject,
            email,
            email_verified: verified,
            auth_time: claims.auth_time,
            link_by_verified_email: self.settings.link_by_verified_email,
        })
    }
}

impl UpstreamProvider {
    /// `allowed_email_domains`: with a list, only a verified address of one of them
    /// (none at all is not one of them).
    pub fn admits(&self, email: Option<&str>, verified: bool) -> Result<(), UpstreamError> {
        if self.settings.allowed_email_domains.is_empty() {
            return Ok(());
        }
        let domain = email
            .and_then(|email| email.rsplit_once('@'))
            .map(|(_, d)| d.to_ascii_lowercase())
            .unwrap_or_default();
        let allowed = self
            .settings
            .allowed_email_domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(&domain));
        if !allowed || !verified {
            return Err(UpstreamError::DomainNotAllowed);
        }
        Ok(())
    }
}

/// The `private_key_jwt` signing key `settings` name, if any.
fn signer(key: &str, settings: &IdentityProviderSettings) -> Result<Option<protocol::jose::SigningKey>, SettingsError> {
    let invalid = |field: &str, reason: String| SettingsError::invalid(format!("{key}.{field}"), reason);
    let Some(key) = &settings.private_key_jwt else {
        return Ok(None);
    };
    let alg = match key.alg.as_str() {
        "ES256" => jsonwebtoken::Algorithm::ES256,
        "EdDSA" => jsonwebtoken::Algorithm::EdDSA,
        other => return Err(invalid("private_key_jwt.alg", format!("`{other}`: ES256 or EdDSA"))),
    };
    let der = shared::secrets::read_pkcs8_pem(&key.key_file).map_err(|e| invalid("private_key_jwt.key_file", e))?;
    protocol::jose::SigningKey::from_pkcs8(&key.kid, alg, der.expose())
        .map(Some)
        .map_err(|e| invalid("private_key_jwt.key_file", e.to_string()))
}
