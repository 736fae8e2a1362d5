//! The client credentials a request presents (RFC 6749 §2.3): the `Authorization`
//! header, `client_secret_post`, a `private_key_jwt` client assertion, or the client
//! certificate the ingress forwards (RFC 8705) in the header
//! `token_endpoint.mtls.trusted_header` names, and never from any other. Read here, at
//! the edge, once; `crate::client_auth` checks them.

use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::percent_decode_str;
use protocol::oauth::{CLIENT_ASSERTION_JWT_BEARER, CLIENT_ASSERTION_JWT_SPIFFE, MtlsSettings, auth_method};

use super::form::FormParams;
use crate::client_auth::{BAD_CREDENTIALS, ClientCredentials};
use crate::clients::{ClientId, PresentedCertificate};
use crate::error::OAuthError;
use crate::grants::request::DpopHeader;

/// The `DPoP` header(s), as sent.
pub fn dpop_header(request: &HttpRequest) -> DpopHeader {
    let mut proofs = request.headers().get_all("dpop");
    let Some(proof) = proofs.next() else {
        return DpopHeader::Absent;
    };
    if proofs.next().is_some() {
        return DpopHeader::Several;
    }
    match proof.to_str() {
        Ok(proof) => DpopHeader::One(proof.to_owned()),
        Err(_) => DpopHeader::Unreadable,
    }
}

/// The credentials a request carries, if any. Two methods at once are refused.
pub fn presented_credentials(
    request: &HttpRequest,
    form: &FormParams,
    mtls: &MtlsSettings,
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
        (Some(kind @ (CLIENT_ASSERTION_JWT_BEARER | CLIENT_ASSERTION_JWT_SPIFFE)), Some(assertion)) => {
            found.push(ClientCredentials::Assertion {
                client_id: form.get("client_id").map(str::to_owned),
                assertion: assertion.to_owned(),
                spiffe: kind == CLIENT_ASSERTION_JWT_SPIFFE,
            });
        }
        (Some(_), Some(_)) => {
            return Err(OAuthError::InvalidClientCredentials(
                "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer (or jwt-spiffe)",
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
        && let Some(certificate) = presented_certificate(request, mtls)?
    {
        found.push(ClientCredentials::Certificate {
            client_id: id.to_owned(),
            certificate,
            chain_verified: chain_verified(request, mtls),
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
fn presented_certificate(
    request: &HttpRequest,
    mtls: &MtlsSettings,
) -> Result<Option<PresentedCertificate>, OAuthError> {
    let Some(name) = mtls.trusted_header.as_deref() else {
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
fn chain_verified(request: &HttpRequest, mtls: &MtlsSettings) -> bool {
    let Some(name) = mtls.verify_header.as_deref() else {
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
