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

use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::JwkSet;
use percent_encoding::percent_decode_str;
use serde::Deserialize;
use shared::oauth::{CLIENT_ASSERTION_JWT_BEARER, auth_method};

use super::private_key_jwt::{Asserting, verify_assertion};
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
            return Err(OAuthError::InvalidClientCredentials(
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
        .map_err(|_| OAuthError::InvalidClientCredentials("the client certificate cannot be read"))?;
    if value.trim().is_empty() {
        return Ok(None);
    }
    PresentedCertificate::from_header(value)
        .map(Some)
        .map_err(|_| OAuthError::InvalidClientCredentials("the client certificate cannot be read"))
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

/// RFC 7523 §3: the client an assertion claims to be, before its signature (which is
/// what makes the claim count) is checked.
pub(super) fn claimed_issuer(assertion: &str) -> Option<String> {
    jsonwebtoken::dangerous::insecure_decode_claims::<UnverifiedIssuer>(assertion)
        .ok()
        .and_then(|c| c.iss)
}

/// Checks credentials against the stored client (one store read). Unknown clients and
/// wrong credentials fail alike; a disabled client fails after its credentials check.
/// Only a failure of the `Authorization` header is a 401 with a `Basic` challenge.
pub async fn authenticate(
    state: &AppState,
    request: &HttpRequest,
    credentials: ClientCredentials,
) -> Result<Authenticated, OAuthError> {
    let in_header = credentials.method() == auth_method::CLIENT_SECRET_BASIC;
    let checked = check_credentials(state, request, credentials).await;
    if in_header {
        checked
    } else {
        checked.map_err(presented_in_body)
    }
}

/// A failure of credentials the client sent outside the `Authorization` header.
pub(super) fn presented_in_body(error: OAuthError) -> OAuthError {
    match error {
        OAuthError::InvalidClient(reason) => OAuthError::InvalidClientCredentials(reason),
        other => other,
    }
}

async fn check_credentials(
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
            None => {
                claimed_issuer(assertion).ok_or(OAuthError::InvalidClient("the client assertion names no issuer"))?
            }
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
        // A public client has nothing to present; see `identify`.
        AuthMethod::None => false,
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
            verify_assertion(state, Asserting::registered(&client), &assertion, now).await?;
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
        AuthMethod::ClientSecret | AuthMethod::PrivateKeyJwt | AuthMethod::None => false,
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
