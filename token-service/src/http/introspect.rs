//! `POST /oauth2/introspect` (RFC 7662): the caller's credentials and the token, to
//! [`Introspection`]; its answer as §2.2 JSON.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::ClientHeaders;
use super::credentials::presented_credentials;
use super::form::FormParams;
use crate::error::OAuthError;
use crate::introspection::{Introspected, Introspection};

pub async fn introspect(
    request: HttpRequest,
    body: web::Bytes,
    introspection: web::Data<Introspection>,
    headers: web::Data<ClientHeaders>,
) -> Result<HttpResponse, OAuthError> {
    let form = FormParams::parse(&request, &body)?;
    let credentials = presented_credentials(&request, &form, &headers.mtls)?;
    let claims = match introspection.introspect(credentials, form.get("token")).await? {
        Introspected::Inactive => return Ok(HttpResponse::Ok().json(json!({ "active": false }))),
        Introspected::Active(claims) => claims,
    };
    let token_type = claims.cnf.as_ref().map_or("Bearer", |c| c.token_type());
    let mut body = json!({
        "active": true,
        "scope": claims.scope,
        "client_id": claims.client_id,
        "token_type": token_type,
        "exp": claims.exp,
        "iat": claims.iat,
        "sub": claims.sub,
        "aud": claims.aud,
        "iss": claims.iss,
        "jti": claims.jti,
    });
    if let Some(cnf) = &claims.cnf {
        body["cnf"] = json!(cnf);
    }
    // RFC 8693 §4.1 (and RFC 7662 §2.2's room for more): who acts, and the chain.
    if let Some(act) = &claims.act {
        body["act"] = json!(act);
        body["delegated_from"] = json!(claims.delegated_from);
    }
    Ok(HttpResponse::Ok().json(body))
}
