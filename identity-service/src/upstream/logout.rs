//! OpenID Connect Back-Channel Logout 1.0: a provider tells us a person signed out
//! there, in a logout token; and RP-initiated logout 1.0: where to send a person to sign
//! out there too.

use shared::fetch::Destinations;
use shared::keys::remote::check_url;
use url::Url;

use super::id_token::Signer;
use super::{UpstreamError, UpstreamProviders};

/// §2.4: the event a logout token carries.
const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// The oldest `iat` a logout token may have.
const MAX_AGE_OF_LOGOUT_TOKEN: i64 = 600;

impl UpstreamProviders {
    /// §2.6: a logout token of `provider`, validated; the `sub` it logs out.
    pub async fn verify_logout(&self, provider: &str, token: &str, now: i64) -> Result<String, UpstreamError> {
        let refuse = UpstreamError::BadIdToken;
        let upstream = self.get(provider)?;
        let metadata = upstream.metadata().await?;
        let jwks_uri = check_url(&metadata.jwks_uri, Destinations::Configured).map_err(UpstreamError::Unavailable)?;
        let algs = metadata.signing_algs();
        let signer = Signer {
            keys: &upstream.keys,
            jwks_uri: &jwks_uri,
            algs: &algs,
            issuer: &metadata.issuer,
            client_id: &upstream.settings.client_id,
            leeway: self.leeway,
        };
        // §2.4 recommends `typ: logout+jwt`; providers that predate it send none, so the
        // header is not required to name it, but a token of another kind is refused by
        // its claims below (an ID token has a nonce and no events).
        let (_, claims) = signer.verify(token, None, &["iss", "aud", "iat"]).await?;
        let iat = claims["iat"].as_i64().unwrap_or(0);
        let leeway = self.leeway as i64;
        if iat > now + leeway || iat < now - MAX_AGE_OF_LOGOUT_TOKEN - leeway {
            return Err(refuse("the logout token's iat is not recent"));
        }
        if !claims["events"][BACKCHANNEL_LOGOUT_EVENT].is_object() {
            return Err(refuse("the logout token carries no back-channel logout event"));
        }
        if claims.get("nonce").is_some() {
            return Err(refuse("a logout token never carries a nonce"));
        }
        if claims["jti"].as_str().is_none_or(str::is_empty) {
            return Err(refuse("the logout token has no jti"));
        }
        // §2.4 allows `sid` alone; we know people by `sub`, so it must be there.
        let sub = claims["sub"].as_str().filter(|s| !s.is_empty() && s.len() <= 255);
        sub.map(str::to_owned).ok_or(refuse("the logout token names no sub"))
    }

    /// RP-initiated logout at `provider`, if it advertises `end_session_endpoint`.
    pub async fn end_session_url(&self, provider: &str) -> Option<String> {
        let upstream = self.get(provider).ok()?;
        let metadata = upstream.metadata().await.ok()?;
        let mut url = Url::parse(metadata.end_session_endpoint.as_deref()?).ok()?;
        url.query_pairs_mut()
            .append_pair("client_id", &upstream.settings.client_id);
        Some(url.into())
    }
}
