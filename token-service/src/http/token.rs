//! `POST /oauth2/token` (RFC 6749 §3.2, §5.1): the form parsed once into the grant's
//! own request type, then handed to [`Grants`].

use actix_web::{HttpRequest, HttpResponse, web};
use protocol::oauth::grant_type::{AUTHORIZATION_CODE, CLIENT_CREDENTIALS, JWT_BEARER, REFRESH_TOKEN, TOKEN_EXCHANGE};
use serde::Serialize;
use shared::audit::Actor;

use super::ClientHeaders;
use super::credentials::{dpop_header, presented_credentials};
use super::form::FormParams;
use crate::error::OAuthError;
use crate::grants::request::{
    AuthorizationCodeRequest, ClientCredentialsRequest, GrantRequest, JwtBearerRequest, Presented, RefreshTokenRequest,
    Scoping, TokenExchangeRequest,
};
use crate::grants::{DpopProofs, Grants};

#[derive(Debug, Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issued_token_type: Option<&'static str>,
}

pub async fn token(
    request: HttpRequest,
    body: web::Bytes,
    grants: web::Data<Grants>,
    proofs: web::Data<DpopProofs>,
    headers: web::Data<ClientHeaders>,
) -> Result<HttpResponse, OAuthError> {
    let form = FormParams::parse(&request, &body)?;
    let grant = grant_label(form.get("grant_type"));
    let outcome = match parse(&request, &form, &headers) {
        Ok((grant, presented)) => grants.exchange(grant, presented).await,
        Err(refused) => Err(refused),
    };
    let code = outcome.as_ref().map_or_else(OAuthError::code, |_| "success");
    metrics::counter!(shared::telemetry::metrics::TOKENS_ISSUED, "grant" => grant, "outcome" => code).increment(1);
    let minted = outcome.inspect_err(|error| {
        let actor = form.get("client_id").map_or(Actor::Anonymous, Actor::Client);
        shared::audit::record("token_refused", actor, grant, error.code());
    })?;
    let mut response = HttpResponse::Ok();
    // RFC 9449 §8.2: a fresh nonce with every success, so a client never has to fail to
    // get one.
    if let Some(nonce) = proofs.fresh_nonce() {
        response.insert_header((crate::error::DPOP_NONCE, nonce));
    }
    Ok(response.json(TokenResponse {
        access_token: minted.token,
        token_type: minted.token_type,
        expires_in: minted.expires_in,
        scope: minted.scope.to_string(),
        refresh_token: minted.refresh_token,
        issued_token_type: minted.issued_token_type,
    }))
}

/// The grant a request asks for, as a metric label: a fixed set.
fn grant_label(grant_type: Option<&str>) -> &'static str {
    match grant_type {
        Some(JWT_BEARER) => "jwt-bearer",
        Some(CLIENT_CREDENTIALS) => "client_credentials",
        Some(AUTHORIZATION_CODE) => "authorization_code",
        Some(REFRESH_TOKEN) => "refresh_token",
        Some(TOKEN_EXCHANGE) => "token-exchange",
        Some(_) => "unsupported",
        None => "none",
    }
}

/// The grant's request, then what the request presents beside it.
fn parse(
    request: &HttpRequest,
    form: &FormParams,
    headers: &ClientHeaders,
) -> Result<(GrantRequest, Presented), OAuthError> {
    let grant = grant_request(form)?;
    let presented = Presented {
        credentials: presented_credentials(request, form, &headers.mtls)?,
        client_id: form.get("client_id").map(str::to_owned),
        dpop: dpop_header(request),
    };
    Ok((grant, presented))
}

fn grant_request(form: &FormParams) -> Result<GrantRequest, OAuthError> {
    let owned = |name: &str| form.require(name).map(str::to_owned);
    let optional = |name: &str| form.get(name).map(str::to_owned);
    let scoping = || Scoping {
        scope: optional("scope"),
        resources: form.get_all("resource").map(str::to_owned).collect(),
    };
    Ok(match form.require("grant_type")? {
        JWT_BEARER => GrantRequest::JwtBearer(JwtBearerRequest {
            assertion: owned("assertion")?,
            scoping: scoping(),
        }),
        CLIENT_CREDENTIALS => GrantRequest::ClientCredentials(ClientCredentialsRequest { scoping: scoping() }),
        AUTHORIZATION_CODE => GrantRequest::AuthorizationCode(AuthorizationCodeRequest {
            code: owned("code")?,
            redirect_uri: optional("redirect_uri"),
            code_verifier: optional("code_verifier"),
            scoping: scoping(),
        }),
        REFRESH_TOKEN => GrantRequest::RefreshToken(RefreshTokenRequest {
            refresh_token: owned("refresh_token")?,
            scoping: scoping(),
        }),
        TOKEN_EXCHANGE => GrantRequest::TokenExchange(TokenExchangeRequest {
            subject_token: owned("subject_token")?,
            subject_token_type: owned("subject_token_type")?,
            actor_token: optional("actor_token"),
            actor_token_type: optional("actor_token_type"),
            requested_token_type: optional("requested_token_type"),
            audiences: form.get_all("audience").map(str::to_owned).collect(),
            scoping: scoping(),
        }),
        _ => return Err(OAuthError::UnsupportedGrantType),
    })
}
