//! Client authentication (RFC 6749 §2.3.1): `client_secret_basic` or
//! `client_secret_post`, never both in one request.

use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::percent_decode_str;

use super::{CLIENT_SECRET_CONTEXT, Client, ClientId};
use crate::error::OAuthError;
use crate::form::FormParams;
use crate::state::AppState;

const BAD_CREDENTIALS: &str = "client authentication failed";

#[derive(Debug)]
pub struct ClientCredentials {
    pub client_id: String,
    secret: String,
}

/// The credentials a request carries, if any.
pub fn presented_credentials(
    request: &HttpRequest,
    form: &FormParams,
) -> Result<Option<ClientCredentials>, OAuthError> {
    let basic = basic_credentials(request)?;
    let post = match (form.get("client_id"), form.get("client_secret")) {
        (Some(id), Some(secret)) => Some(ClientCredentials {
            client_id: id.to_owned(),
            secret: secret.to_owned(),
        }),
        (None, Some(_)) => {
            return Err(OAuthError::InvalidRequest(
                "client_secret given without client_id".into(),
            ));
        }
        // A client_id alone identifies a public client; it authenticates nothing.
        _ => None,
    };
    match (basic, post) {
        (Some(_), Some(_)) => Err(OAuthError::InvalidRequest(
            "use one client authentication method, not both".into(),
        )),
        (basic, post) => Ok(basic.or(post)),
    }
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
    Ok(Some(ClientCredentials {
        client_id: form_decode(id)?,
        secret: form_decode(secret)?,
    }))
}

fn form_decode(part: &str) -> Result<String, OAuthError> {
    percent_decode_str(&part.replace('+', " "))
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| OAuthError::InvalidClient(BAD_CREDENTIALS))
}

/// Checks credentials against the stored client in constant time. Unknown clients and
/// wrong secrets fail alike.
pub async fn authenticate(state: &AppState, credentials: &ClientCredentials) -> Result<Client, OAuthError> {
    let client = match ClientId::parse(&credentials.client_id) {
        Ok(id) => state.clients.get(&id).await?,
        Err(_) => None,
    };
    match client {
        Some(client)
            if state
                .hasher
                .verify(CLIENT_SECRET_CONTEXT, &credentials.secret, &client.secret_hash) =>
        {
            Ok(client)
        }
        _ => {
            tracing::info!(client_id = %credentials.client_id, "client authentication failed");
            Err(OAuthError::InvalidClient(BAD_CREDENTIALS))
        }
    }
}
