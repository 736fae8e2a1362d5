//! RFC 7523 §2.2 `private_key_jwt`: the client signs a JWT with a key from its
//! registered `jwks` (parsed once per version, [`InlineKeys`]) or its `jwks_uri` (the
//! SSRF-safe fetcher); `iss` = `sub` = the client, `aud` this token endpoint or the
//! issuer, a bounded `exp`, a `jti` used once on every replica.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use protocol::jose::alg::KeyRefusal;
use protocol::jose::jws::{self, JwsError};
use protocol::jose::keys::{KeySet, RemoteKeyError, VerifyingKey};
use serde::Deserialize;

use protocol::jose::alg::JwsAlg;
use shared::keys::remote::RemoteKeys;
use shared::store::replay::ReplayCache;

use crate::clients::{Client, ClientId, ClientKeys};
use crate::error::OAuthError;

/// `private_key_jwt` client assertions and where their keys come from.
#[derive(Debug)]
pub struct PrivateKeyJwt {
    /// `token_endpoint_auth_signing_alg_values_supported`, parsed.
    pub algs: Vec<JwsAlg>,
    /// What an assertion's `aud` may name: the token endpoint's URLs and the issuer.
    pub audiences: Vec<String>,
    pub leeway_secs: u64,
    /// The longest an assertion may live.
    pub max_lifetime_secs: u64,
    /// `jwks_uri` key sets, fetched SSRF-safe.
    pub fetched_keys: Arc<RemoteKeys>,
    /// Registered key sets, parsed once per version.
    pub inline_keys: InlineKeys,
    /// Assertion `jti`s, single use on every replica.
    pub replay: Arc<dyn ReplayCache>,
}

#[derive(Debug, Deserialize)]
struct ClientAssertionClaims {
    iss: String,
    sub: String,
    aud: Audience,
    jti: String,
    exp: i64,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    iat: Option<i64>,
}

/// RFC 7519 §4.1.3: one audience or several.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn names_any(&self, accepted: &[&str]) -> bool {
        match self {
            Self::One(aud) => accepted.contains(&aud.as_str()),
            Self::Many(auds) => auds.iter().any(|aud| accepted.contains(&aud.as_str())),
        }
    }
}

/// The client a client assertion is verified for: its id (`iss` and `sub` must be it)
/// and where its keys are.
#[derive(Debug, Clone, Copy)]
pub struct Asserting<'a> {
    pub id: &'a str,
    pub keys: Option<&'a ClientKeys>,
    /// A registered client, whose inline key set is parsed once per version.
    pub registered: Option<&'a ClientId>,
}

impl<'a> Asserting<'a> {
    pub fn registered(client: &'a Client) -> Self {
        Self {
            id: client.client_id.as_str(),
            keys: client.keys.as_ref(),
            registered: Some(&client.client_id),
        }
    }
}

impl PrivateKeyJwt {
    pub async fn verify(&self, client: Asserting<'_>, assertion: &str, now: i64) -> Result<(), OAuthError> {
        let (alg, kid) = self.header(assertion)?;
        let key = self.client_key(client, kid.as_deref()).await?;
        if !key.accepts(alg) {
            return Err(OAuthError::InvalidClient(
                "the client assertion's alg does not fit the client's key",
            ));
        }
        let claims: ClientAssertionClaims = jws::verify(assertion, &key.key, alg).map_err(|e| {
            OAuthError::InvalidClient(match e {
                JwsError::BadSignature => "the client assertion's signature is invalid",
                _ => "the client assertion lacks iss, sub, aud, exp or jti, or is malformed",
            })
        })?;
        self.check_claims(client.id, &claims, now)?;
        self.first_use(client.id, &claims).await
    }

    /// The assertion's `alg`, one we accept, and its `kid`.
    fn header(&self, assertion: &str) -> Result<(JwsAlg, Option<String>), OAuthError> {
        // The header is read as JSON: jsonwebtoken's `Header` cannot hold RFC 9864's
        // `Ed25519`, which oauth4webapi and jose send.
        let header = jws::protected_header(assertion)
            .map_err(|_| OAuthError::InvalidClient("the client assertion is not a signed JWT"))?;
        if header.contains_key("crit") {
            return Err(OAuthError::InvalidClient(
                "the client assertion names a critical extension this server does not implement",
            ));
        }
        // RFC 7518 §3.6: `none` is no signature at all.
        if header.get("alg").and_then(serde_json::Value::as_str) == Some("none") {
            return Err(OAuthError::InvalidClient("the client assertion is not a signed JWT"));
        }
        let alg = jws::header_alg(&header)
            .filter(|alg| self.algs.contains(alg))
            .ok_or(OAuthError::InvalidClient(
                "the client assertion's alg is not one of token_endpoint_auth_signing_alg_values_supported",
            ))?;
        let kid = header.get("kid").and_then(serde_json::Value::as_str).map(str::to_owned);
        Ok((alg, kid))
    }

    /// RFC 7523 §3: the claims of a signature that verified, for client `id`.
    fn check_claims(&self, id: &str, claims: &ClientAssertionClaims, now: i64) -> Result<(), OAuthError> {
        let leeway = self.leeway_secs as i64;
        if claims.exp + leeway < now {
            return Err(OAuthError::InvalidClient("the client assertion has expired"));
        }
        if claims.nbf.is_some_and(|nbf| nbf > now + leeway) {
            return Err(OAuthError::InvalidClient("the client assertion is not valid yet"));
        }
        if claims.iss != id {
            return Err(OAuthError::InvalidClient(
                "the client assertion's iss must be the client_id",
            ));
        }
        let audiences: Vec<&str> = self.audiences.iter().map(String::as_str).collect();
        if !claims.aud.names_any(&audiences) {
            return Err(OAuthError::InvalidClient(
                "the client assertion's aud must be the token endpoint or the issuer",
            ));
        }
        if claims.sub != id {
            return Err(OAuthError::InvalidClient(
                "the client assertion's sub must be the client_id",
            ));
        }
        let max = self.max_lifetime_secs as i64;
        let too_long = claims.exp - now > max + leeway || claims.iat.is_some_and(|iat| claims.exp - iat > max);
        if too_long {
            return Err(OAuthError::InvalidClient(
                "the client assertion lives longer than this server accepts",
            ));
        }
        if claims.jti.is_empty() || claims.jti.len() > 256 {
            return Err(OAuthError::InvalidClient(
                "the client assertion's jti is empty or too long",
            ));
        }
        Ok(())
    }

    /// The assertion's `jti`, once on every replica.
    async fn first_use(&self, id: &str, claims: &ClientAssertionClaims) -> Result<(), OAuthError> {
        let until = claims.exp + self.leeway_secs as i64;
        if !self
            .replay
            .first_use(&format!("client_assertion:{id}"), &claims.jti, until)
            .await?
        {
            shared::audit::record(
                "replay_detected",
                shared::audit::Actor::Client(id),
                "client_assertion",
                "refused",
            );
            return Err(OAuthError::InvalidClient("this client assertion was already used"));
        }
        Ok(())
    }

    /// The key the assertion names: from the registered set (parsed once per version), or
    /// the client's `jwks_uri` through the SSRF-safe fetcher.
    async fn client_key(&self, client: Asserting<'_>, kid: Option<&str>) -> Result<VerifyingKey, OAuthError> {
        match (client.keys, client.registered) {
            (Some(ClientKeys::Jwks(json)), Some(registered)) => self
                .inline_keys
                .get(registered, json)
                .lookup(kid)
                .cloned()
                .map_err(refused),
            (Some(ClientKeys::JwksUri(uri)), _) => {
                let url = self
                    .fetched_keys
                    .check_url(uri)
                    .map_err(|_| OAuthError::InvalidClient("the client's jwks_uri is not one this server fetches"))?;
                self.fetched_keys.key(&url, kid).await.map_err(|e| match e {
                    RemoteKeyError::UnknownKey(_) | RemoteKeyError::Refused(..) => refused(e),
                    RemoteKeyError::Forbidden(reason) => {
                        tracing::warn!(client_id = %client.id, %reason, "client jwks_uri refused");
                        OAuthError::InvalidClient("the client's jwks_uri is not one this server fetches")
                    }
                    RemoteKeyError::Unavailable(cause) => OAuthError::TemporarilyUnavailable {
                        what: "the client's key set",
                        cause,
                    },
                })
            }
            _ => Err(OAuthError::InvalidClient("this client has no registered keys")),
        }
    }
}

/// A key the assertion named that is not there, or that cannot be used (an RSA key
/// under 2048 bits in a `jwks_uri` set says so).
fn refused(error: RemoteKeyError) -> OAuthError {
    match error {
        RemoteKeyError::Refused(_, KeyRefusal::RsaTooSmall) => OAuthError::InvalidClient(
            "the client assertion's kid names an RSA key under 2048 bits, which this server refuses (RFC 7518 section 3.3)",
        ),
        RemoteKeyError::Refused(..) => {
            OAuthError::InvalidClient("the client assertion's kid names a key this server cannot use")
        }
        _ => OAuthError::InvalidClient("the client assertion's kid names none of the client's keys"),
    }
}

/// Registered key sets, parsed once per client and version of the set.
#[derive(Debug, Default)]
pub struct InlineKeys {
    parsed: Mutex<HashMap<ClientId, (String, Arc<KeySet>)>>,
}

/// Far more clients with inline keys than one replica serves at once; past it the cache
/// starts over rather than grow.
const MAX_INLINE_SETS: usize = 10_000;

impl InlineKeys {
    pub fn get(&self, id: &ClientId, json: &str) -> Arc<KeySet> {
        let mut parsed = self.parsed.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((seen, set)) = parsed.get(id)
            && seen == json
        {
            return Arc::clone(set);
        }
        // Registration checked the set; one that no longer parses has no usable key.
        let set = Arc::new(KeySet::parse(json.as_bytes()).unwrap_or_default());
        if parsed.len() >= MAX_INLINE_SETS {
            parsed.clear();
        }
        parsed.insert(id.clone(), (json.to_owned(), Arc::clone(&set)));
        set
    }
}
