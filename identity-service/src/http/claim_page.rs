//! The human's side of the claim ceremony: two small server-rendered pages with no
//! external assets and no script. GET only shows the page, so mail scanners that follow
//! links burn nothing; the button POSTs and mints a code.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::Deserialize;
use shared::time::unix_now;

use super::html::{escape, page};
use crate::claim::ClaimCeremony;
use crate::error::IdentityError;

#[derive(Debug, Deserialize)]
struct LinkToken {
    token: Option<String>,
}

pub async fn view(request: HttpRequest, claims: web::Data<ClaimCeremony>) -> HttpResponse {
    let token = serde_urlencoded::from_str::<LinkToken>(request.query_string())
        .ok()
        .and_then(|q| q.token)
        .unwrap_or_default();
    match claims.view_attempt(&token, unix_now()).await {
        Ok(viewed) => {
            let body = format!(
                "<h1>Claim an AI agent</h1>\
                 <p>An AI agent (<code>{id}</code>) asked to be linked to <strong>{email}</strong>.</p>\
                 <p>If you started this, press the button and give the code it shows to your agent. \
                 If not, close this page: nothing happens without the code.</p>{form}",
                id = escape(&viewed.registration_id),
                email = escape(viewed.email.as_str()),
                form = mint_form(&claims, &token, "Show my code"),
            );
            page(StatusCode::OK, "Claim an AI agent", &body)
        }
        Err(error) => error_page(&error),
    }
}

pub async fn challenge(request: HttpRequest, body: web::Bytes, claims: web::Data<ClaimCeremony>) -> HttpResponse {
    if !shared::media::has_media_type(&request, "application", "x-www-form-urlencoded") {
        return error_page(&IdentityError::InvalidRequest("expected a form submission".into()));
    }
    let token = serde_urlencoded::from_bytes::<LinkToken>(&body)
        .ok()
        .and_then(|q| q.token)
        .unwrap_or_default();
    let now = unix_now();
    match claims.mint_code(&token, now).await {
        Ok(minted) => {
            let minutes = (minted.expires_at - now).max(60) / 60;
            let body = format!(
                "<h1>Your code</h1>\
                 <p class=\"code\" id=\"otp\">{code}</p>\
                 <p>Give this code to your agent. It works for {minutes} minutes. \
                 Pressing the button again makes a new code and cancels this one.</p>{form}",
                code = escape(&minted.code),
                form = mint_form(&claims, &token, "Make a new code"),
            );
            page(StatusCode::OK, "Your code", &body)
        }
        Err(error) => error_page(&error),
    }
}

fn mint_form(claims: &ClaimCeremony, token: &str, label: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <button type=\"submit\" id=\"mint\">{label}</button></form>",
        action = escape(&claims.challenge_url()),
        token = escape(token),
        label = escape(label),
    )
}

fn error_page(error: &IdentityError) -> HttpResponse {
    let status = error.status_code();
    // Server errors say nothing specific to the human; the cause goes to the log.
    let message = if status.is_server_error() {
        tracing::error!(%error, "claim page failed");
        "Something went wrong on our side. Please try again in a minute.".to_owned()
    } else {
        error.to_string()
    };
    let body = format!("<h1>Cannot continue</h1><p>{}</p>", escape(&message));
    let mut response = page(status, "Cannot continue", &body);
    error.set_retry_after(&mut response);
    response
}
