//! `POST /oauth2/revoke` (RFC 7009): the token and the caller's credentials, to
//! [`Revocation`]; every outcome it does not refuse is a 200 with no body.

use actix_web::{HttpRequest, HttpResponse, web};

use super::ClientHeaders;
use super::credentials::presented_credentials;
use super::form::FormParams;
use crate::error::OAuthError;
use crate::revocation::{Revocation, RevocationRequest};

pub async fn revoke(
    request: HttpRequest,
    body: web::Bytes,
    revocation: web::Data<Revocation>,
    headers: web::Data<ClientHeaders>,
) -> Result<HttpResponse, OAuthError> {
    let form = FormParams::parse(&request, &body)?;
    let token = form.require("token")?.to_owned();
    let credentials = presented_credentials(&request, &form, &headers.mtls)?;
    revocation
        .revoke(RevocationRequest {
            token,
            credentials,
            client_id: form.get("client_id").map(str::to_owned),
        })
        .await?;
    Ok(HttpResponse::Ok().finish())
}
