//! Provider key sets: each trusted provider's `jwks_uri`, fetched and cached by the shared
//! [`RemoteKeys`] (max-age bounds, refetch cooldown, one fetch at a time per set).

use std::collections::HashMap;
use std::fmt;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Header, Validation};
use protocol::jose::NumericDate;
use protocol::jose::keys::RemoteKeyError;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use shared::keys::remote::{Destinations, RemoteKeys};
use shared::settings::SettingsError;
use url::Url;

use super::{ProviderExpectations, ProviderKeySettings, ProviderSettings, Untyped};
use crate::error::ProviderError;

/// The verification keys of every trusted provider, fetched on demand.
pub struct ProviderKeys {
    keys: RemoteKeys,
    /// Keyed by exact `iss`.
    providers: HashMap<String, Provider>,
}

struct Provider {
    jwks_uri: Url,
    allow_untyped_id_jag: bool,
}

impl fmt::Debug for ProviderKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderKeys")
            .field("issuers", &self.providers.keys().collect::<Vec<_>>())
            .field("keys", &self.keys)
            .finish()
    }
}

impl ProviderKeys {
    /// Checks every provider's settings; fetches nothing until the first verify.
    pub fn new(providers: &[ProviderSettings], settings: &ProviderKeySettings) -> Result<Self, SettingsError> {
        let mut by_issuer = HashMap::new();
        for (i, provider) in providers.iter().enumerate() {
            let key = format!("providers[{i}].jwks_uri");
            let jwks_uri = shared::keys::remote::check_url(&provider.jwks_uri, Destinations::Configured)
                .map_err(|reason| SettingsError::invalid(&key, format!("`{}`: {reason}", provider.jwks_uri)))?;
            let issuer_key = format!("providers[{i}].issuer");
            if provider.issuer.is_empty() {
                return Err(SettingsError::invalid(issuer_key, "must not be empty"));
            }
            let entry = Provider {
                jwks_uri,
                allow_untyped_id_jag: provider.allow_untyped_id_jag,
            };
            if by_issuer.insert(provider.issuer.clone(), entry).is_some() {
                return Err(SettingsError::invalid(issuer_key, "is configured twice"));
            }
        }
        Ok(Self {
            keys: RemoteKeys::new(settings, Destinations::Configured)?,
            providers: by_issuer,
        })
    }

    pub fn is_trusted(&self, issuer: &str) -> bool {
        self.providers.contains_key(issuer)
    }

    /// Verifies a compact JWS from a trusted provider: one signature check, then the
    /// header and time rules, then the claims as the caller's typed struct.
    pub async fn verify<C: DeserializeOwned>(
        &self,
        token: &str,
        expect: &ProviderExpectations,
    ) -> Result<(Header, C), ProviderError> {
        let header = jsonwebtoken::decode_header(token).map_err(malformed)?;
        // RFC 7515 §4.1.11: we implement no extension, so any `crit` is refused.
        if header.crit.is_some() {
            return Err(ProviderError::UnsupportedCritical);
        }
        // Unverified: used only to choose whose keys to verify with.
        let unverified: UnverifiedIssuer =
            jsonwebtoken::dangerous::insecure_decode_claims(token).map_err(|_| malformed("no string `iss` claim"))?;
        let issuer = unverified.iss.as_str();
        let provider = self
            .providers
            .get(issuer)
            .ok_or_else(|| ProviderError::UntrustedIssuer(issuer.to_owned()))?;
        let kid = header.kid.as_deref().ok_or_else(|| malformed("no `kid` header"))?;
        check_typ(header.typ.as_deref(), expect, provider.allow_untyped_id_jag)?;
        let key = self
            .keys
            .key(&provider.jwks_uri, Some(kid))
            .await
            .map_err(|e| match e {
                RemoteKeyError::UnknownKey(kid) | RemoteKeyError::Refused(kid, _) => ProviderError::UnknownKey(kid),
                RemoteKeyError::Unavailable(reason) | RemoteKeyError::Forbidden(reason) => {
                    ProviderError::KeysUnavailable(reason)
                }
            })?;
        if !key.accepts(protocol::jose::alg::JwsAlg::Jwt(header.alg)) {
            return Err(ProviderError::InvalidSignature);
        }
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[&expect.audience]);
        let mut required = vec!["iss", "aud"];
        required.extend(expect.require_exp.then_some("exp"));
        validation.set_required_spec_claims(&required);
        validation.validate_nbf = true;
        validation.leeway = expect.leeway.as_secs();
        let data = jsonwebtoken::decode::<Value>(token, &key.key, &validation).map_err(rejected)?;
        check_times(&data.claims, expect)?;
        let claims = C::deserialize(&data.claims).map_err(|_| malformed("the claims are not of the expected types"))?;
        Ok((data.header, claims))
    }
}

/// RFC 7515 §4.1.9: `application/` may be left out of a `typ`.
fn check_typ(
    typ: Option<&str>,
    expect: &ProviderExpectations,
    provider_allows_untyped: bool,
) -> Result<(), ProviderError> {
    let short = |t: &str| {
        let lower = t.to_ascii_lowercase();
        lower.strip_prefix("application/").map(str::to_owned).unwrap_or(lower)
    };
    match typ {
        Some(typ) if short(typ) == short(expect.typ) => Ok(()),
        None if expect.untyped == Untyped::AllowedIfProviderOptsIn && provider_allows_untyped => Ok(()),
        _ => Err(ProviderError::WrongType),
    }
}

#[derive(Deserialize)]
struct UnverifiedIssuer {
    iss: String,
}

/// The time claims every provider token is held to (RFC 7519 §2 NumericDates).
#[derive(Deserialize)]
struct TimeClaims {
    iat: NumericDate,
    #[serde(default)]
    exp: Option<NumericDate>,
    /// Read only so that an out-of-range value is refused; jsonwebtoken checks it.
    #[serde(default, rename = "nbf")]
    _nbf: Option<NumericDate>,
}

/// jsonwebtoken checks `exp` and `nbf` but not `iat`, which we require and bound, nor
/// the range of any of them, nor the lifetime.
fn check_times(claims: &Value, expect: &ProviderExpectations) -> Result<(), ProviderError> {
    let times = TimeClaims::deserialize(claims)
        .map_err(|_| malformed("`iat`, `exp` and `nbf` must be NumericDates and `iat` is required"))?;
    let leeway = i64::try_from(expect.leeway.as_secs()).unwrap_or(i64::MAX);
    if times.iat.secs() > shared::time::unix_now().saturating_add(leeway) {
        return Err(ProviderError::Expired);
    }
    if let (Some(exp), Some(max)) = (times.exp, expect.max_lifetime) {
        let max = i64::try_from(max.as_secs()).unwrap_or(i64::MAX);
        // Both are in 0..=NumericDate::MAX, so the difference cannot overflow.
        if exp.secs() - times.iat.secs() > max {
            return Err(ProviderError::LifetimeTooLong);
        }
    }
    Ok(())
}

fn rejected(error: jsonwebtoken::errors::Error) -> ProviderError {
    match error.kind() {
        ErrorKind::ExpiredSignature | ErrorKind::ImmatureSignature => ProviderError::Expired,
        ErrorKind::InvalidAudience => ProviderError::InvalidAudience,
        ErrorKind::InvalidSignature => ProviderError::InvalidSignature,
        _ => malformed(error),
    }
}

fn malformed(reason: impl fmt::Display) -> ProviderError {
    ProviderError::Malformed(reason.to_string())
}
