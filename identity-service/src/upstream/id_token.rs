//! An upstream ID token, validated as OpenID Connect Core 1.0 §3.1.3.7 asks, with
//! jsonwebtoken on our one crypto library: one signature check with the provider's key
//! (by `kid`, refetched on an unknown one at most once per cooldown), an `alg` the
//! provider advertises and never `none` or HMAC, then `iss`, `aud` (ours alone), `azp`,
//! `exp`, `iat`, `nonce`, `at_hash` and, when `max_age` was asked, `auth_time`.

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Validation};
use protocol::jose::alg::JwsAlg;
use protocol::jose::keys::RemoteKeyError;
use serde_json::Value;
use shared::keys::remote::RemoteKeys;
use url::Url;

use super::UpstreamError;

/// What a validated ID token says, in the claims we use.
#[derive(Debug, Clone)]
pub struct IdClaims {
    pub subject: String,
    pub auth_time: Option<i64>,
    pub all: Value,
}

/// What the ID token must match.
#[derive(Debug)]
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    /// The provider's `id_token_signing_alg_values_supported` (RS256 when it says none).
    pub algs: &'a [String],
    pub access_token: Option<&'a str>,
    pub max_age: Option<u64>,
    pub leeway: u64,
    pub now: i64,
}

/// The longest ago an ID token may have been issued.
const MAX_AGE_OF_ID_TOKEN: i64 = 600;

pub async fn validate(
    token: &str,
    keys: &RemoteKeys,
    jwks_uri: &Url,
    expected: &Expected<'_>,
) -> Result<IdClaims, UpstreamError> {
    let signer = Signer {
        keys,
        jwks_uri,
        algs: expected.algs,
        issuer: expected.issuer,
        client_id: expected.client_id,
        leeway: expected.leeway,
    };
    let (alg, claims) = signer.verify(token, None, &["iss", "aud", "exp", "sub"]).await?;
    check_claims(&claims, expected, alg)
}

/// Who must have signed a provider's token, and for whom.
#[derive(Debug)]
pub struct Signer<'a> {
    pub keys: &'a RemoteKeys,
    pub jwks_uri: &'a Url,
    /// The provider's advertised algorithms.
    pub algs: &'a [String],
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub leeway: u64,
}

impl Signer<'_> {
    /// One signature check with the provider's key, an `alg` it advertises (never
    /// `none` or HMAC), `typ` (when `typ` is given, the header's must be it), `iss`,
    /// `aud` including us, the `required` claims and the times: the claims.
    pub async fn verify(
        &self,
        token: &str,
        typ: Option<&str>,
        required: &[&str],
    ) -> Result<(Algorithm, Value), UpstreamError> {
        let refuse = UpstreamError::BadIdToken;
        let header = jsonwebtoken::decode_header(token).map_err(|_| refuse("the token is not a signed JWT"))?;
        let named = format!("{:?}", header.alg);
        if matches!(header.alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
            return Err(refuse(
                "the token is HMAC-signed; only the provider's own keys are trusted",
            ));
        }
        if !self.algs.contains(&named) {
            return Err(refuse("the token's alg is not one the provider advertises"));
        }
        if header.crit.is_some() {
            return Err(refuse("the token names a critical extension"));
        }
        if let Some(typ) = typ
            && !header.typ.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(typ))
        {
            return Err(refuse("the token's typ is not the one this kind of token has"));
        }
        let key = self
            .keys
            .key(self.jwks_uri, header.kid.as_deref())
            .await
            .map_err(|e| match e {
                RemoteKeyError::Unavailable(cause) | RemoteKeyError::Forbidden(cause) => {
                    UpstreamError::Unavailable(cause)
                }
                _ => refuse("the token's kid names none of the provider's keys"),
            })?;
        if !key.accepts(JwsAlg::Jwt(header.alg)) {
            return Err(refuse("the token's alg does not fit the provider's key"));
        }
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[self.issuer]);
        validation.set_audience(&[self.client_id]);
        validation.set_required_spec_claims(required);
        validation.leeway = self.leeway;
        validation.validate_nbf = true;
        // `exp` is always checked when present, and required only where `required` says.
        validation.validate_exp = true;
        let data = jsonwebtoken::decode::<Value>(token, &key.key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            refuse(match e.kind() {
                ErrorKind::InvalidSignature => "the token's signature is invalid",
                ErrorKind::ExpiredSignature => "the token has expired",
                ErrorKind::InvalidIssuer => "the token's iss is not the provider's",
                ErrorKind::InvalidAudience => "the token's aud is not this server",
                ErrorKind::ImmatureSignature => "the token is not valid yet",
                _ => "the token lacks a required claim, or is malformed",
            })
        })?;
        Ok((header.alg, data.claims))
    }
}

fn check_claims(claims: &Value, expected: &Expected<'_>, alg: Algorithm) -> Result<IdClaims, UpstreamError> {
    let refuse = UpstreamError::BadIdToken;
    // §3.1.3.7 (3): every audience must be trusted; we trust ourselves alone.
    if let Some(audiences) = claims["aud"].as_array()
        && audiences.iter().any(|aud| aud != expected.client_id)
    {
        return Err(refuse("the ID token's aud names others besides this server"));
    }
    // (4), (5): azp, when there, is us.
    if claims.get("azp").is_some_and(|azp| azp != expected.client_id) {
        return Err(refuse("the ID token's azp is not this server"));
    }
    let Some(iat) = claims["iat"].as_i64() else {
        return Err(refuse("the ID token has no iat"));
    };
    let leeway = expected.leeway as i64;
    if iat > expected.now + leeway || iat < expected.now - MAX_AGE_OF_ID_TOKEN - leeway {
        return Err(refuse("the ID token's iat is not recent"));
    }
    // (11): the nonce this browser's sign-in sent.
    let nonce = claims["nonce"].as_str().unwrap_or("");
    if !protocol::secrets::same_secret(nonce, expected.nonce) {
        return Err(refuse("the ID token's nonce is not this sign-in's"));
    }
    if let (Some(at_hash), Some(access_token)) = (claims["at_hash"].as_str(), expected.access_token)
        && at_hash != token_hash(access_token, alg)
    {
        return Err(refuse("the ID token's at_hash does not match the access token"));
    }
    let subject = claims["sub"].as_str().filter(|s| !s.is_empty() && s.len() <= 255);
    let subject = subject.ok_or(refuse("the ID token's sub is empty or too long"))?;
    let auth_time = claims["auth_time"].as_i64();
    if let Some(max_age) = expected.max_age {
        let Some(at) = auth_time else {
            return Err(refuse("max_age was asked and the ID token has no auth_time"));
        };
        let max_age = i64::try_from(max_age).unwrap_or(i64::MAX);
        if expected.now.saturating_sub(at) > max_age.saturating_add(leeway) {
            return Err(refuse("the provider's sign-in is older than max_age"));
        }
    }
    Ok(IdClaims {
        subject: subject.to_owned(),
        auth_time,
        all: claims.clone(),
    })
}

/// §3.1.3.6 `at_hash`: the left half of the access token's hash under the ID token's
/// alg's hash function, base64url.
fn token_hash(token: &str, alg: Algorithm) -> String {
    let function = match alg {
        Algorithm::RS384 | Algorithm::PS384 | Algorithm::ES384 | Algorithm::HS384 => &digest::SHA384,
        Algorithm::RS512 | Algorithm::PS512 | Algorithm::HS512 | Algorithm::EdDSA => &digest::SHA512,
        _ => &digest::SHA256,
    };
    let hash = digest::digest(function, token.as_bytes());
    let bytes = hash.as_ref();
    URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_is_the_left_half_of_the_hash() {
        // OpenID Connect Core 1.0 §A.3's example: access token and at_hash, RS256.
        assert_eq!(
            token_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", Algorithm::RS256),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
