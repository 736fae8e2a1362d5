//! Client authentication at the token endpoint, one method per request:
//!
//! - RFC 6749 §2.3.1 secrets, `client_secret_basic` or `client_secret_post`, checked in
//!   constant time against each of the client's active secrets;
//! - RFC 7523 §2.2 `private_key_jwt`: a JWT the client signs with a key from its
//!   registered `jwks` or its `jwks_uri`; `iss` = `sub` = the client, `aud` this token
//!   endpoint or the issuer, a bounded `exp`, a `jti` used once on every replica;
//! - RFC 8705 §2 `tls_client_auth` / `self_signed_tls_client_auth`: the certificate the
//!   ingress verified and forwarded in `token_endpoint.mtls.trusted_header`, never one
//!   from any other header and never when that setting is unset.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::Validation;
use jsonwebtoken::jwk::JwkSet;
use percent_encoding::percent_decode_str;
use serde::Deserialize;
use shared::jose::remote::{KeySet, RemoteKeyError, VerifyingKey};
use shared::oauth::{CLIENT_ASSERTION_JWT_BEARER, auth_method};

use super::{AuthMethod, CLIENT_SECRET_CONTEXT, Client, ClientId, ClientKeys, PresentedCertificate};
use crate::error::OAuthError;
use crate::form::FormParams;
use crate::state::AppState;

const BAD_CREDENTIALS: &str = "client authentication failed";

/// What a request presents to authenticate its client.
#[derive(Debug)]
pub enum ClientCredentials {
    Secret {
        client_id: String,
        secret: String,
        method: &'static str,
    },
    /// `private_key_jwt`; `client_id` is optional beside it (RFC 7521 §4.2).
    Assertion {
        client_id: Option<String>,
        assertion: String,
    },
    /// A `client_id` with the TLS client certificate the ingress vouches for.
    Certificate {
        client_id: String,
        certificate: PresentedCertificate,
    },
}

impl ClientCredentials {
    pub fn method(&self) -> &'static str {
        match self {
            Self::Secret { method, .. } => method,
            Self::Assertion { .. } => auth_method::PRIVATE_KEY_JWT,
            Self::Certificate { .. } => auth_method::TLS_CLIENT_AUTH,
        }
    }
}

/// A client that proved who it is, and the certificate it proved it with, if any: a
/// token it gets is bound to that certificate (RFC 8705 §3).
#[derive(Debug)]
pub struct Authenticated {
    pub client: Client,
    pub certificate_thumbprint: Option<String>,
}

/// The credentials a request carries, if any. Two methods at once are refused.
pub fn presented_credentials(
    state: &AppState,
    request: &HttpRequest,
    form: &FormParams,
) -> Result<Option<ClientCredentials>, OAuthError> {
    let mut found = Vec::new();
    if let Some(basic) = basic_credentials(request)? {
        found.push(basic);
    }
    match (form.get("client_id"), form.get("client_secret")) {
        (Some(id), Some(secret)) => found.push(ClientCredentials::Secret {
            client_id: id.to_owned(),
            secret: secret.to_owned(),
            method: auth_method::CLIENT_SECRET_POST,
        }),
        (None, Some(_)) => {
            return Err(OAuthError::InvalidRequest(
                "client_secret given without client_id".into(),
            ));
        }
        _ => {}
    }
    match (form.get("client_assertion_type"), form.get("client_assertion")) {
        (Some(CLIENT_ASSERTION_JWT_BEARER), Some(assertion)) => found.push(ClientCredentials::Assertion {
            client_id: form.get("client_id").map(str::to_owned),
            assertion: assertion.to_owned(),
        }),
        (Some(_), Some(_)) => {
            return Err(OAuthError::InvalidClient(
                "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ));
        }
        (None, None) => {}
        _ => {
            return Err(OAuthError::InvalidRequest(
                "client_assertion and client_assertion_type go together".into(),
            ));
        }
    }
    if found.is_empty()
        && let Some(id) = form.get("client_id").filter(|id| ClientId::parse(id).is_ok())
        && let Some(certificate) = presented_certificate(state, request)?
    {
        found.push(ClientCredentials::Certificate {
            client_id: id.to_owned(),
            certificate,
        });
    }
    if found.len() > 1 {
        return Err(OAuthError::InvalidRequest(
            "use one client authentication method, not several".into(),
        ));
    }
    Ok(found.pop())
}

/// The client certificate the trusted ingress header carries. With no trusted header
/// configured, whatever a request claims about certificates is ignored.
pub fn presented_certificate(
    state: &AppState,
    request: &HttpRequest,
) -> Result<Option<PresentedCertificate>, OAuthError> {
    let Some(name) = state.endpoint.mtls.trusted_header.as_deref() else {
        return Ok(None);
    };
    let Some(value) = request.headers().get(name) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| OAuthError::InvalidClient("the client certificate cannot be read"))?;
    if value.trim().is_empty() {
        return Ok(None);
    }
    PresentedCertificate::from_header(value)
        .map(Some)
        .map_err(|_| OAuthError::InvalidClient("the client certificate cannot be read"))
}

/// Whether the ingress verified the certificate's chain to the client CA it trusts.
fn chain_verified(state: &AppState, request: &HttpRequest) -> bool {
    let Some(name) = state.endpoint.mtls.verify_header.as_deref() else {
        // No verdict header: the ingress forwards only certificates it verified.
        return true;
    };
    let verdict = request.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    // HAProxy's `ssl_c_verify` is 0 on success; ingress-nginx says SUCCESS.
    verdict == "0" || verdict.eq_ignore_ascii_case("SUCCESS")
}

fn basic_credentials(request: &HttpRequest) -> Result<Option<ClientCredentials>, OAuthError> {
    let Some(header) = request.headers().get(AUTHORIZATION) else {
        return Ok(None);
    };
    let value = header
        .to_str()
        .map_err(|_| OAuthError::InvalidClient(BAD_CREDENTIALS))?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Err(OAuthError::InvalidClient(BAD_CREDENTIALS));
    };
    if scheme.eq_ignore_ascii_case("dpop") || scheme.eq_ignore_ascii_case("bearer") {
        // An access token presented to revoke or introspect itself is not a credential.
        return Ok(None);
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::InvalidClient(BAD_CREDENTIALS));
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or(OAuthError::InvalidClient(BAD_CREDENTIALS))?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or(OAuthError::InvalidClient(BAD_CREDENTIALS))?;
    // §2.3.1: both parts are form-urlencoded before base64.
    Ok(Some(ClientCredentials::Secret {
        client_id: form_decode(id)?,
        secret: form_decode(secret)?,
        method: auth_method::CLIENT_SECRET_BASIC,
    }))
}

fn form_decode(part: &str) -> Result<String, OAuthError> {
    percent_decode_str(&part.replace('+', " "))
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| OAuthError::InvalidClient(BAD_CREDENTIALS))
}

#[derive(Debug, Deserialize)]
struct UnverifiedIssuer {
    iss: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ClientAssertionClaims {
    sub: String,
    jti: String,
    exp: i64,
    #[serde(default)]
    iat: Option<i64>,
}

/// Checks credentials against the stored client (one store read). Unknown clients and
/// wrong credentials fail alike; a disabled client fails after its credentials check.
pub async fn authenticate(
    state: &AppState,
    request: &HttpRequest,
    credentials: ClientCredentials,
) -> Result<Authenticated, OAuthError> {
    let claimed_id = match &credentials {
        ClientCredentials::Secret { client_id, .. } | ClientCredentials::Certificate { client_id, .. } => {
            client_id.clone()
        }
        ClientCredentials::Assertion { client_id, assertion } => match client_id {
            Some(id) => id.clone(),
            // RFC 7523 §3: the client is the assertion's issuer; the signature below
            // is what makes the claim count.
            None => jsonwebtoken::dangerous::insecure_decode_claims::<UnverifiedIssuer>(assertion)
                .ok()
                .and_then(|c| c.iss)
                .ok_or(OAuthError::InvalidClient("the client assertion names no issuer"))?,
        },
    };
    let client = match ClientId::parse(&claimed_id) {
        Ok(id) => state.clients.get(&id).await?,
        Err(_) => None,
    };
    let Some(client) = client else {
        tracing::info!(client_id = %claimed_id, "client authentication failed: unknown client");
        return Err(OAuthError::InvalidClient(BAD_CREDENTIALS));
    };
    let method = credentials.method();
    let registered = match client.auth_method {
        AuthMethod::ClientSecret => {
            [auth_method::CLIENT_SECRET_BASIC, auth_method::CLIENT_SECRET_POST].contains(&method)
        }
        AuthMethod::PrivateKeyJwt => method == auth_method::PRIVATE_KEY_JWT,
        AuthMethod::TlsClientAuth | AuthMethod::SelfSignedTlsClientAuth => method == auth_method::TLS_CLIENT_AUTH,
    };
    if !registered {
        tracing::info!(client_id = %claimed_id, method, "client authentication failed: not the client's method");
        return Err(OAuthError::InvalidClient(
            "this client is registered for another authentication method",
        ));
    }
    if !state.endpoint.accepts(client.auth_method.as_str()) {
        return Err(OAuthError::InvalidClient(
            "this client's authentication method is not enabled on this server",
        ));
    }
    let now = shared::jose::unix_now();
    let certificate_thumbprint = match credentials {
        ClientCredentials::Secret { secret, .. } => {
            // Every active secret is checked, so the time taken says nothing of which matched.
            let matched = client.secrets.iter().fold(false, |matched, stored| {
                state.hasher.verify(CLIENT_SECRET_CONTEXT, &secret, &stored.hash) | matched
            });
            if !matched {
                tracing::info!(client_id = %claimed_id, "client authentication failed: wrong secret");
                return Err(OAuthError::InvalidClient(BAD_CREDENTIALS));
            }
            None
        }
        ClientCredentials::Assertion { assertion, .. } => {
            verify_assertion(state, &client, &assertion, now).await?;
            None
        }
        ClientCredentials::Certificate { certificate, .. } => {
            verify_certificate(state, request, &client, &certificate, now)?;
            Some(certificate.x5t_s256)
        }
    };
    if client.disabled {
        return Err(OAuthError::InvalidClient("this client is disabled"));
    }
    Ok(Authenticated {
        client,
        certificate_thumbprint,
    })
}

async fn verify_assertion(state: &AppState, client: &Client, assertion: &str, now: i64) -> Result<(), OAuthError> {
    let header = jsonwebtoken::decode_header(assertion)
        .map_err(|_| OAuthError::InvalidClient("the client assertion is not a signed JWT"))?;
    if header.crit.is_some() {
        return Err(OAuthError::InvalidClient(
            "the client assertion names a critical extension this server does not implement",
        ));
    }
    if !state.assertion_algs.contains(&header.alg) {
        return Err(OAuthError::InvalidClient(
            "the client assertion's alg is not one of token_endpoint_auth_signing_alg_values_supported",
        ));
    }
    let key = client_key(state, client, header.kid.as_deref()).await?;
    if key.alg != header.alg {
        return Err(OAuthError::InvalidClient(
            "the client assertion's alg does not fit the client's key",
        ));
    }
    let id = client.client_id.as_str();
    let mut validation = Validation::new(key.alg);
    validation.leeway = state.leeway_secs;
    validation.validate_nbf = true;
    validation.set_issuer(&[id]);
    let mut audiences: Vec<&str> = state.token_endpoint_urls.iter().map(String::as_str).collect();
    audiences.push(&state.issuer);
    validation.set_audience(&audiences);
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    let claims = jsonwebtoken::decode::<ClientAssertionClaims>(assertion, &key.key, &validation)
        .map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            OAuthError::InvalidClient(match e.kind() {
                ErrorKind::InvalidSignature => "the client assertion's signature is invalid",
                ErrorKind::ExpiredSignature => "the client assertion has expired",
                ErrorKind::ImmatureSignature => "the client assertion is not valid yet",
                ErrorKind::InvalidIssuer => "the client assertion's iss must be the client_id",
                ErrorKind::InvalidAudience => "the client assertion's aud must be the token endpoint or the issuer",
                _ => "the client assertion lacks iss, sub, aud, exp or jti, or is malformed",
            })
        })?
        .claims;
    if claims.sub != id {
        return Err(OAuthError::InvalidClient(
            "the client assertion's sub must be the client_id",
        ));
    }
    let max = state.endpoint.client_assertion_max_lifetime.as_secs() as i64;
    let too_long =
        claims.exp - now > max + state.leeway_secs as i64 || claims.iat.is_some_and(|iat| claims.exp - iat > max);
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
    let until = claims.exp + state.leeway_secs as i64;
    if !state
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
async fn client_key(state: &AppState, client: &Client, kid: Option<&str>) -> Result<VerifyingKey, OAuthError> {
    match &client.keys {
        Some(ClientKeys::Jwks(json)) => {
            state
                .inline_keys
                .get(&client.client_id, json)
                .get(kid)
                .cloned()
                .ok_or(OAuthError::InvalidClient(
                    "the client assertion's kid names none of the client's keys",
                ))
        }
        Some(ClientKeys::JwksUri(uri)) => {
            let url = state
                .client_keys
                .check_url(uri)
                .map_err(|_| OAuthError::InvalidClient("the client's jwks_uri is not one this server fetches"))?;
            state.client_keys.key(&url, kid).await.map_err(|e| match e {
                RemoteKeyError::UnknownKey(_) => {
                    OAuthError::InvalidClient("the client assertion's kid names none of the client's keys")
                }
                RemoteKeyError::Forbidden(reason) => {
                    tracing::warn!(client_id = %client.client_id, %reason, "client jwks_uri refused");
                    OAuthError::InvalidClient("the client's jwks_uri is not one this server fetches")
                }
                RemoteKeyError::Unavailable(cause) => OAuthError::TemporarilyUnavailable {
                    what: "the client's key set",
                    cause,
                },
            })
        }
        None => Err(OAuthError::InvalidClient("this client has no registered keys")),
    }
}

fn verify_certificate(
    state: &AppState,
    request: &HttpRequest,
    client: &Client,
    certificate: &PresentedCertificate,
    now: i64,
) -> Result<(), OAuthError> {
    if !certificate.valid_at(now) {
        return Err(OAuthError::InvalidClient(
            "the client certificate is expired or not yet valid",
        ));
    }
    let matched = match client.auth_method {
        AuthMethod::TlsClientAuth => {
            chain_verified(state, request) && client.certificate.as_ref().is_some_and(|b| certificate.matches(b))
        }
        AuthMethod::SelfSignedTlsClientAuth => {
            let registered = client.certificate.as_ref().is_some_and(|b| certificate.matches(b));
            let by_key = match &client.keys {
                Some(ClientKeys::Jwks(json)) => serde_json::from_str::<JwkSet>(json)
                    .is_ok_and(|set| set.keys.iter().any(|jwk| certificate.carries_key(jwk))),
                _ => false,
            };
            registered || by_key
        }
        AuthMethod::ClientSecret | AuthMethod::PrivateKeyJwt => false,
    };
    if matched {
        Ok(())
    } else {
        tracing::info!(client_id = %client.client_id, "client authentication failed: certificate does not match");
        Err(OAuthError::InvalidClient(
            "the client certificate is not the one registered for this client",
        ))
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
