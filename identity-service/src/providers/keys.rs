//! Provider key sets: fetched from each provider's `jwks_uri`, cached for the response's
//! `Cache-Control: max-age` (within configured bounds), refetched for an unknown `kid` at
//! most once per cooldown, and never fetched by two verifies of one provider at once.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Header, Validation};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use shared::jose::NumericDate;
use shared::settings::SettingsError;
use tokio::sync::{Mutex, RwLock};
use url::Url;

use super::jwks::{JwksClient, KeySet, VerifyingKey, parse_jwks_uri};
use super::{ProviderError, ProviderExpectations, ProviderKeySettings, ProviderSettings, Untyped};

/// The verification keys of every trusted provider, fetched on demand.
pub struct ProviderKeys {
    jwks: JwksClient,
    settings: ProviderKeySettings,
    /// Keyed by exact `iss`.
    providers: HashMap<String, Provider>,
}

struct Provider {
    jwks_uri: Url,
    allow_untyped_id_jag: bool,
    cache: RwLock<Option<Arc<KeySet>>>,
    /// Held for the whole of a fetch: concurrent verifies wait for one fetch rather than
    /// each starting their own.
    fetch: Mutex<FetchState>,
}

#[derive(Default)]
struct FetchState {
    last_attempt: Option<Instant>,
    /// Why the last attempt failed; `None` after a success.
    last_error: Option<String>,
}

impl fmt::Debug for ProviderKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderKeys")
            .field("issuers", &self.providers.keys().collect::<Vec<_>>())
            .field("settings", &self.settings)
            .finish()
    }
}

impl ProviderKeys {
    /// Checks every provider's settings; fetches nothing until the first verify.
    pub fn new(providers: &[ProviderSettings], settings: &ProviderKeySettings) -> Result<Self, SettingsError> {
        let mut by_issuer = HashMap::new();
        for (i, provider) in providers.iter().enumerate() {
            let jwks_uri = parse_jwks_uri(&format!("providers[{i}].jwks_uri"), &provider.jwks_uri)?;
            let issuer_key = format!("providers[{i}].issuer");
            if provider.issuer.is_empty() {
                return Err(SettingsError::invalid(issuer_key, "must not be empty"));
            }
            let entry = Provider {
                jwks_uri,
                allow_untyped_id_jag: provider.allow_untyped_id_jag,
                cache: RwLock::new(None),
                fetch: Mutex::new(FetchState::default()),
            };
            if by_issuer.insert(provider.issuer.clone(), entry).is_some() {
                return Err(SettingsError::invalid(issuer_key, "is configured twice"));
            }
        }
        Ok(Self {
            jwks: JwksClient::new(settings)?,
            settings: settings.clone(),
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
        let key = self.key(provider, kid).await?;
        if header.alg != key.alg {
            return Err(ProviderError::InvalidSignature);
        }
        let mut validation = Validation::new(key.alg);
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

    /// The provider's key `kid`: cached if fresh, else fetched under the provider's lock.
    async fn key(&self, provider: &Provider, kid: &str) -> Result<VerifyingKey, ProviderError> {
        let seen = provider.cache.read().await.clone();
        if let Some(key) = seen.as_ref().filter(|set| set.is_fresh()).and_then(|set| set.get(kid)) {
            return Ok(key.clone());
        }
        let mut state = provider.fetch.lock().await;
        let current = provider.cache.read().await.clone();
        let changed = !matches!((&seen, &current), (Some(a), Some(b)) if Arc::ptr_eq(a, b));
        if let Some(set) = current.as_ref().filter(|set| changed && set.is_fresh()) {
            // Fetched while this verify waited: that fetch was its refetch too.
            return set.get(kid).cloned().ok_or_else(|| unknown(kid));
        }
        let expired = current.as_ref().is_none_or(|set| !set.is_fresh());
        let cooled = (state.last_attempt).is_none_or(|at| at.elapsed() >= self.settings.refetch_cooldown);
        // Expiry always refetches; an unknown kid or a failed provider waits out the cooldown.
        if cooled || (expired && state.last_error.is_none()) {
            state.last_attempt = Some(Instant::now());
            match self.jwks.fetch(&provider.jwks_uri).await {
                Ok(set) => {
                    state.last_error = None;
                    let set = Arc::new(set);
                    *provider.cache.write().await = Some(Arc::clone(&set));
                    return set.get(kid).cloned().ok_or_else(|| unknown(kid));
                }
                Err(reason) => {
                    let (jwks_uri, cached) = (&provider.jwks_uri, current.is_some());
                    tracing::warn!(%jwks_uri, %reason, cached, "provider key fetch failed");
                    state.last_error = Some(reason);
                }
            }
        }
        match (current.as_ref().and_then(|set| set.get(kid)), &state.last_error) {
            (Some(stale), _) => Ok(stale.clone()),
            (None, Some(reason)) => Err(ProviderError::KeysUnavailable(reason.clone())),
            (None, None) => Err(unknown(kid)),
        }
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
    if times.iat.secs() > shared::jose::unix_now().saturating_add(leeway) {
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

fn unknown(kid: &str) -> ProviderError {
    ProviderError::UnknownKey(kid.to_owned())
}
